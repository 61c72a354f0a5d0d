import { type Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import {
  defineTokenBucketRefund,
  runTokenBucketRefund,
} from '../algorithms/token-bucket-refund.script.js';
import {
  checkTokenBucketReply,
  defineTokenBucket,
  runTokenBucketLease,
  sendTokenBucket,
} from '../algorithms/token-bucket.script.js';
import { RateLimitStoreError } from '../errors/rate-limit-store.error.js';
import type { BucketRule } from '../options/resolved-limit.interface.js';
import { groupByHashTag } from './cluster-hash-tag.js';
import { takeAcrossSlots } from './cluster-multi-slot-take.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { RateLimitStore } from './rate-limit-store.interface.js';
import type { StoreObserver } from './store-observer.js';

const CONNECT_GRACE_MS = 2000;

/**
 * Buckets in Redis or Redis Cluster, judged by one Lua script per decision. A call never waits
 * longer than `timeoutMs` (plus one tick of the deadline queue), and a client that is not
 * connected is not asked at all: nothing queues offline to be replayed late.
 */
export class RedisRateLimitStore implements RateLimitStore, OnModuleInit, OnModuleDestroy {
  readonly description: string;
  private readonly deadlines: DeadlineQueue;
  private observer: StoreObserver | undefined;

  constructor(
    readonly client: Redis | Cluster,
    private readonly ownsClient: boolean,
    timeoutMs: number,
  ) {
    this.description = isCluster(client) ? 'redis-cluster' : 'redis';
    this.deadlines = new DeadlineQueue(
      timeoutMs,
      () => new RateLimitStoreError('timeout', `Redis did not answer within ${timeoutMs} ms`),
    );
    defineTokenBucket(client);
    defineTokenBucketRefund(client);
  }

  take(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
    consume: boolean,
  ): Promise<number[]> {
    const notReady = this.notReady();
    if (notReady !== undefined) return Promise.reject(this.takeFailed(notReady));
    if (isCluster(this.client) && groupByHashTag(keys).length > 1) {
      const slots = groupByHashTag(keys);
      return this.deadlines.settle(
        takeAcrossSlots(this.client, slots, keys, rules, costs, consume),
        this.takeSucceeded,
        this.takeFailed,
      );
    }
    return this.deadlines.settle(
      sendTokenBucket(this.client, keys, rules, costs, consume),
      (reply) => this.takeSucceeded(checkTokenBucketReply(reply, keys.length)),
      this.takeFailed,
    );
  }

  /** Reports every take's outcome to `observer`, without a promise around the take. */
  observeTakes(observer: StoreObserver): void {
    this.observer = observer;
  }

  private readonly takeSucceeded = (reply: number[]): number[] => {
    this.observer?.succeeded();
    return reply;
  };

  private readonly takeFailed = (error: unknown): RateLimitStoreError => {
    const storeError = toStoreError(error);
    this.observer?.failed(storeError);
    return storeError;
  };

  lease(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
    extras: readonly number[],
  ): Promise<number[]> {
    const notReady = this.notReady();
    if (notReady !== undefined) return Promise.reject(notReady);
    // Limits in several Cluster slots cannot lease atomically: such a request just consumes.
    if (isCluster(this.client) && groupByHashTag(keys).length > 1) {
      return this.take(keys, rules, costs, true).then((reply) => withNoGrants(reply));
    }
    return this.deadlines.race(
      runTokenBucketLease(this.client, keys, rules, costs, extras).catch(wrapStoreError),
    );
  }

  async refund(
    keys: readonly string[],
    rules: readonly BucketRule[],
    tokens: readonly number[],
  ): Promise<void> {
    const notReady = this.notReady();
    if (notReady !== undefined) throw notReady;
    // Standalone: one call per batch. Cluster: one per identity, since no call spans slots.
    const groups = isCluster(this.client) ? groupByHashTag(keys) : batches(keys.length);
    const pick = <T>(values: readonly T[], group: readonly number[]): T[] =>
      group.map((index) => values[index]!);
    await this.deadlines.race(
      Promise.all(
        groups.map((group) =>
          runTokenBucketRefund(
            this.client,
            pick(keys, group),
            pick(rules, group),
            pick(tokens, group),
          ),
        ),
      ).catch(wrapStoreError),
    );
  }

  async reset(keys: readonly string[]): Promise<void> {
    const notReady = this.notReady();
    if (notReady !== undefined) throw notReady;
    // One DEL per key: keys of different identities may sit in different Cluster slots.
    await this.deadlines.race(
      Promise.all(keys.map((key) => this.client.del(key))).catch(wrapStoreError),
    );
  }

  async resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    const notReady = this.notReady();
    if (notReady !== undefined) throw notReady;
    const pattern = `${keyPrefix}*{${identity}}`;
    const nodes = isCluster(this.client) ? this.client.nodes('master') : [this.client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await Promise.all(keys.map((key) => node.del(key)));
      } while (cursor !== '0');
    }
  }

  /**
   * Gives a connecting client up to `CONNECT_GRACE_MS` to become ready, so the first requests
   * after boot are judged by Redis. Never fails: an unreachable Redis must not stop the app.
   */
  async onModuleInit(): Promise<void> {
    if (this.client.status !== 'connecting' && this.client.status !== 'connect') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, CONNECT_GRACE_MS);
      this.client.once('ready', done);
      // A refused connection will not be ready within the grace: start now, decide by strategy.
      this.client.once('error', done);
      const client = this.client;
      function done(): void {
        clearTimeout(timer);
        client.off('ready', done);
        client.off('error', done);
        resolve();
      }
    });
  }

  async onModuleDestroy(): Promise<void> {
    if (!this.ownsClient) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private notReady(): RateLimitStoreError | undefined {
    const status = this.client.status;
    return status === 'ready'
      ? undefined
      : new RateLimitStoreError('unavailable', `Redis is not connected (status: ${status})`);
  }
}

/** Refunds per script call: a bound on how long one call keeps Redis busy. */
const REFUND_BATCH = 256;

/** Indices 0..count-1 in runs of REFUND_BATCH. */
function batches(count: number): number[][] {
  const runs: number[][] = [];
  for (let start = 0; start < count; start += REFUND_BATCH) {
    runs.push(Array.from({ length: Math.min(REFUND_BATCH, count - start) }, (_, i) => start + i));
  }
  return runs;
}

/** A take reply in the lease layout: per bucket [remaining, resetMs, retryAfterMs, 0]. */
function withNoGrants(reply: readonly number[]): number[] {
  const leased: number[] = [];
  for (let i = 0; i < reply.length; i += 3) leased.push(reply[i]!, reply[i + 1]!, reply[i + 2]!, 0);
  return leased;
}

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as Partial<Cluster>).isCluster === true;
}

/** ioredis's messages for a command it could not send, or whose connection dropped. */
const CONNECTION_LOST = /Stream isn't writeable|Connection is closed/;

function toStoreError(error: unknown): RateLimitStoreError {
  if (error instanceof RateLimitStoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const failure = CONNECTION_LOST.test(message) ? 'unavailable' : 'error';
  return new RateLimitStoreError(failure, `Redis error: ${message}`, { cause: error });
}

function wrapStoreError(error: unknown): never {
  throw toStoreError(error);
}

/** Logs the client's connection errors under our context instead of ioredis's stderr warning. */
export function logClientErrors(client: Redis | Cluster, logger: Logger): void {
  let lastLogMs = 0;
  client.on('error', (error: Error) => {
    const nowMs = Date.now();
    if (nowMs - lastLogMs < 1000) return;
    lastLogMs = nowMs;
    logger.warn(`Redis connection error: ${error.message}`);
  });
}
