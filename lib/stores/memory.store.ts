import type { BucketRequest, BucketResult } from '../algorithms/algorithm.interface.js';
import { type Clock, systemClock } from '../clock.js';
import { isKeyOf } from '../keys/bucket-key.js';
import { DEFAULT_MODULE_OPTIONS } from '../options/defaults.js';
import type { Take, TakeQuery } from '../pipeline/decision-layer.interface.js';
import type { RateLimitStore } from './rate-limit-store.interface.js';

interface MemoryBucket {
  readonly state: unknown;
  readonly expiresAtUs: number;
}

const SWEEP_INTERVAL_MS = 10_000;

/**
 * Buckets in this process's memory, judged by the same algorithms as the Redis store (their
 * TypeScript arithmetic). Memory is bounded twice: a bucket is dropped once full again (its
 * expiry, checked on read and by a sweep every 10 s), and beyond `maxKeys` the least recently
 * written buckets are evicted. The Map keeps write order because every write re-inserts its key.
 *
 * @publicApi
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly description = 'memory';
  private readonly buckets = new Map<string, MemoryBucket>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly maxKeys: number = DEFAULT_MODULE_OPTIONS.memoryStoreMaxKeys,
    private readonly clock: Clock = systemClock,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Number of buckets held, expired ones included until swept. */
  get size(): number {
    return this.buckets.size;
  }

  take(query: TakeQuery): Promise<Take> {
    try {
      return Promise.resolve({ results: this.judge(query), source: 'memory' });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  refund(requests: readonly BucketRequest[]): Promise<void> {
    const nowUs = this.clock.nowUs();
    for (const { key, rule, cost } of requests) {
      const settled = rule.algorithm.refund(this.live(key, nowUs), rule, cost, nowUs);
      if (settled.write !== undefined)
        this.write(key, settled.write.state, settled.write.expiresAtUs);
    }
    return Promise.resolve();
  }

  reset(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.buckets.delete(key);
    return Promise.resolve();
  }

  resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    for (const key of this.buckets.keys()) {
      if (isKeyOf(key, keyPrefix, identity)) this.buckets.delete(key);
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.buckets.clear();
    return Promise.resolve();
  }

  /** Drops every bucket that is full again. */
  sweep(): void {
    const nowUs = this.clock.nowUs();
    for (const [key, bucket] of this.buckets) {
      if (bucket.expiresAtUs <= nowUs) this.buckets.delete(key);
    }
  }

  /** All-or-nothing: every bucket is checked, then each is settled, written only if all passed. */
  private judge({ requests, mode }: TakeQuery): BucketResult[] {
    const nowUs = this.clock.nowUs();
    const checks = requests.map(({ key, rule, cost }) =>
      rule.algorithm.check(this.live(key, nowUs), rule, cost, nowUs),
    );
    const write = mode !== 'peek' && checks.every((check) => check.retryAfterMs === 0);
    return requests.map(({ key, rule, cost, extra }, i) => {
      const settled = rule.algorithm.settle(
        checks[i]!,
        rule,
        cost,
        write,
        mode === 'lease' ? (extra ?? 0) : 0,
        nowUs,
      );
      if (settled.write !== undefined)
        this.write(key, settled.write.state, settled.write.expiresAtUs);
      return settled.result;
    });
  }

  private live(key: string, nowUs: number): unknown {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return undefined;
    if (bucket.expiresAtUs <= nowUs) {
      this.buckets.delete(key);
      return undefined;
    }
    return bucket.state;
  }

  private write(key: string, state: unknown, expiresAtUs: number): void {
    this.buckets.delete(key);
    if (state === undefined) return;
    this.buckets.set(key, { state, expiresAtUs });
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
  }
}
