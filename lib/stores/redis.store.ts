import type { Cluster, Redis } from 'ioredis';
import type { BucketRequest, BucketResult } from '../algorithms/algorithm.interface.js';
import { defineBucketScript, runBucketScript } from '../algorithms/bucket-script.js';
import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import { RateLimitStoreError } from '../errors/rate-limit-store.error.js';
import { groupBySlot, identityKeyPattern } from '../keys/bucket-key.js';
import { DEFAULT_MODULE_OPTIONS } from '../options/defaults.js';
import type { Take, TakeQuery } from '../pipeline/decision-layer.interface.js';
import { takeAcrossSlots } from './cluster-take.js';
import { TakeBatch } from './take-batch.js';
import { DeadlineQueue } from './deadline-queue.js';
import { isCluster } from './redis-client.js';
import type { RateLimitStore } from './rate-limit-store.interface.js';

/** Refunds per script call: a bound on how long one call keeps Redis busy. */
const REFUND_BATCH = 256;

/**
 * Buckets in Redis or Redis Cluster, judged by a Lua script; the decisions of one event-loop
 * turn share a call (TakeBatch). Every call, resets included, is bounded by `timeoutMs` (plus one
 * tick of the deadline queue), and a client that is not connected is not asked at all: nothing
 * queues offline to be replayed late.
 *
 * @publicApi
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly description: string;
  private readonly deadlines: DeadlineQueue;
  /** The takes of one event-loop turn, sent as one script call. */
  private readonly batch: TakeBatch;

  constructor(
    readonly client: Redis | Cluster,
    private readonly ownsClient: boolean,
    timeoutMs: number,
    private readonly readyWaitMs: number = DEFAULT_MODULE_OPTIONS.readyWaitMs,
  ) {
    this.description = isCluster(client) ? 'redis-cluster' : 'redis';
    this.deadlines = new DeadlineQueue(
      timeoutMs,
      () => new RateLimitStoreError('timeout', `Redis did not answer within ${timeoutMs} ms`),
      asStoreError,
    );
    defineBucketScript(client);
    this.batch = new TakeBatch(client, () => this.unavailable());
  }

  take({ requests, mode, blockPrefix }: TakeQuery): Promise<Take> {
    const slots = isCluster(this.client) ? groupBySlot(requests) : undefined;
    return this.bounded(() =>
      slots !== undefined && slots.length > 1
        ? takeAcrossSlots(this.client as Cluster, slots, requests, mode !== 'peek', blockPrefix)
        : this.batch.take({ requests, mode, blockPrefix }),
    ).then((results) => ({
      results,
      // A block's denial is not the buckets' state: the deny cache must not learn from it.
      source: blockPrefix !== undefined && results.some(isBlocked) ? 'block' : 'redis',
    }));
  }

  async refund(requests: readonly BucketRequest[]): Promise<void> {
    // Standalone: one call per batch. Cluster: one per identity, since no call spans slots.
    const groups = isCluster(this.client) ? groupBySlot(requests) : batches(requests);
    await this.bounded(() =>
      Promise.all(groups.map((group) => runBucketScript(this.client, group, 'refund'))),
    );
  }

  async reset(keys: readonly string[]): Promise<void> {
    // One DEL per key: keys of different identities may sit in different Cluster slots.
    await this.bounded(() => Promise.all(keys.map((key) => this.client.del(key))));
  }

  /**
   * A SCAN of every master, each of its round trips bounded like any other call: a Redis that
   * stops answering fails the reset within `timeoutMs` instead of holding it for good.
   */
  async resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    const pattern = identityKeyPattern(keyPrefix, identity);
    const nodes = isCluster(this.client) ? this.client.nodes('master') : [this.client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.bounded(() =>
          node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000),
        );
        cursor = next;
        if (keys.length > 0)
          await this.bounded(() => Promise.all(keys.map((key) => node.del(key))));
      } while (cursor !== '0');
    }
  }

  onReconnect(listener: () => void): () => void {
    this.client.on('ready', listener);
    return () => this.client.off('ready', listener);
  }

  /**
   * Gives a connecting client up to `readyWaitMs` to become ready, so the first requests after
   * boot are judged by Redis. Never fails: an unreachable Redis must not stop the app.
   */
  async waitUntilReady(): Promise<void> {
    if (this.client.status !== 'connecting' && this.client.status !== 'connect') return;
    const client = this.client;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.readyWaitMs);
      client.once('ready', done);
      // A refused connection will not be ready within the wait: start now, decide by strategy.
      client.once('error', done);
      function done(): void {
        clearTimeout(timer);
        client.off('ready', done);
        client.off('error', done);
        resolve();
      }
    });
  }

  /**
   * COMMAND INFO answers nil for a command the server does not have (too old, or renamed away).
   * Bounded like any call; rejects when Redis cannot be asked or refuses COMMAND.
   */
  async missingCommands(commands: readonly string[]): Promise<readonly string[]> {
    const nodes = isCluster(this.client) ? this.client.nodes('master') : [this.client];
    const answers = await this.bounded(() =>
      Promise.all(nodes.map((node) => node.command('INFO', ...commands))),
    );
    return commands.filter((_, i) => answers.some((infos) => infos[i] === null));
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  /**
   * Sends the work only when the client is connected (a user's client may queue offline, and a
   * queued script would charge a request already answered), waits `timeoutMs` at most, and turns
   * every failure into a RateLimitStoreError. Also for the module's other calls on this client
   * (blocks, the instance registry).
   *
   * @internal
   */
  bounded<T>(send: () => Promise<T>): Promise<T> {
    const unavailable = this.unavailable();
    if (unavailable !== undefined) return Promise.reject(unavailable);
    let work: Promise<T>;
    try {
      work = send();
    } catch (error) {
      return Promise.reject(asStoreError(error));
    }
    return this.deadlines.race(work);
  }

  /** Why the client cannot be asked now (not connected), or undefined when it can. */
  private unavailable(): RateLimitStoreError | undefined {
    const status = this.client.status;
    return status === 'ready'
      ? undefined
      : new RateLimitStoreError('unavailable', `Redis is not connected (status: ${status})`);
  }
}

function isBlocked(result: BucketResult): boolean {
  return result.blockedMs !== undefined;
}

/** Requests in runs of REFUND_BATCH. */
function batches(requests: readonly BucketRequest[]): BucketRequest[][] {
  const runs: BucketRequest[][] = [];
  for (let start = 0; start < requests.length; start += REFUND_BATCH) {
    runs.push(requests.slice(start, start + REFUND_BATCH));
  }
  return runs;
}

/** ioredis's messages for a command it could not send, or whose connection dropped. */
const CONNECTION_LOST = /Stream isn't writeable|Connection is closed|max retries per request/;
/** ioredis's advice to raise an option the module sets to 0 on purpose: not for our logs. */
const RETRY_ADVICE = /\s*Refer to "maxRetriesPerRequest" option for details\.?/;

/**
 * A failure as RateLimitStoreError, for the failure strategy; a RateLimitConfigError (a limit
 * this Redis cannot judge) stays as it is: failing open on it would leave the limit unenforced.
 */
function asStoreError(error: unknown): RateLimitStoreError | RateLimitConfigError {
  if (error instanceof RateLimitStoreError || error instanceof RateLimitConfigError) return error;
  const message = (error instanceof Error ? error.message : String(error)).replace(
    RETRY_ADVICE,
    '',
  );
  const failure = CONNECTION_LOST.test(message) ? 'unavailable' : 'error';
  return new RateLimitStoreError(failure, `Redis error: ${message}`, { cause: error });
}
