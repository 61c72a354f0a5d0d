// The timers module's own, not the global: a test that fakes the global timers (Jest's fake
// timers) must not leave decisions waiting for a flush that never comes.
import { setImmediate } from 'node:timers';
import type { Cluster, Redis } from 'ioredis';
import type { BucketResult } from '../algorithms/algorithm.interface.js';
import { runBucketScripts, type ScriptCall } from '../algorithms/bucket-script.js';
import { groupBySlot } from '../keys/bucket-key.js';
import { isCluster } from './redis-client.js';

/**
 * Decisions per script call at most: one call keeps Redis busy for all of them (a few µs each),
 * so a large batch is sent as several calls, back to back.
 */
export const MAX_DECISIONS_PER_CALL = 8;

interface Queued {
  readonly call: ScriptCall;
  readonly resolve: (results: BucketResult[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Sends the decisions of one event-loop turn together: one script call for all of them (per
 * Cluster slot: a call's keys share one), instead of one call each. Each decision is still
 * judged all-or-nothing over its own buckets; the call judges them one after another, at one
 * instant of Redis's clock, as Redis would have judged the same calls arriving back to back. A
 * decision that raises in Redis (a key of another type) fails alone.
 *
 * Why: a script call costs both processes far more than the decision inside it (the command
 * and its reply in the client, the socket, the script's set-up in Redis). With 64 decisions in
 * flight, sending them together made a bare INCR script 2.7× as many decisions per second at a
 * sixth of the Node CPU (bench/NOTES.md). The flush runs at the end of the turn's I/O
 * (setImmediate): the decisions of requests read in the same turn share a call, and a lone
 * decision goes out in the same turn.
 */
export class TakeBatch {
  private queue: Queued[] = [];

  /**
   * @param unavailable why the client cannot be asked now, or undefined when it can: checked again
   * at the flush, so that a call is never left in an offline queue to be replayed late
   */
  constructor(
    private readonly client: Redis | Cluster,
    private readonly unavailable: () => Error | undefined,
  ) {}

  take(call: ScriptCall): Promise<BucketResult[]> {
    return new Promise<BucketResult[]>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(this.flush);
      this.queue.push({ call, resolve, reject });
    });
  }

  private readonly flush = (): void => {
    const queue = this.queue;
    this.queue = [];
    const unavailable = this.unavailable();
    if (unavailable !== undefined) {
      for (const queued of queue) queued.reject(unavailable);
      return;
    }
    for (const group of bySlot(queue, isCluster(this.client))) {
      for (let start = 0; start < group.length; start += MAX_DECISIONS_PER_CALL) {
        this.send(group.slice(start, start + MAX_DECISIONS_PER_CALL));
      }
    }
  };

  private send(batch: readonly Queued[]): void {
    runBucketScripts(
      this.client,
      batch.map((queued) => queued.call),
    ).then(
      (answers) => {
        batch.forEach((queued, i) => {
          const answer = answers[i];
          if (answer === undefined || answer instanceof Error) queued.reject(answer);
          else queued.resolve(answer);
        });
      },
      (error: unknown) => {
        for (const queued of batch) queued.reject(error);
      },
    );
  }
}

/** Standalone: one group. Cluster: a group per hash tag (each call's keys share its first key's). */
function bySlot(queue: Queued[], cluster: boolean): Queued[][] {
  return cluster ? groupBySlot(queue, (queued) => queued.call.requests[0]?.key ?? '') : [queue];
}
