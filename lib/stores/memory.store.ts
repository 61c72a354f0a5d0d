import { type OnModuleDestroy } from '@nestjs/common';
import { debtAt, judgeBuckets, type BucketState } from '../algorithms/token-bucket.js';
import type { BucketRule } from '../options/resolved-limit.interface.js';
import { type Clock, systemClock } from './clock.js';
import type { RateLimitStore } from './rate-limit-store.interface.js';

interface MemoryBucket extends BucketState {
  expiresAtUs: number;
}

const SWEEP_INTERVAL_MS = 10_000;

/**
 * Buckets in this process's memory, with the semantics of the Redis store. Memory is bounded
 * twice: a bucket is dropped once full again (its expiry, checked on read and by a sweep every
 * 10 s), and beyond `maxKeys` the least recently written buckets are evicted. The Map keeps
 * write order because every write re-inserts its key.
 */
export class MemoryRateLimitStore implements RateLimitStore, OnModuleDestroy {
  readonly description = 'memory';
  private readonly buckets = new Map<string, MemoryBucket>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly maxKeys = 100_000,
    private readonly clock: Clock = systemClock,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Number of buckets held, expired ones included until swept. */
  get size(): number {
    return this.buckets.size;
  }

  take(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
    consume: boolean,
  ): Promise<number[]> {
    try {
      return Promise.resolve(this.takeNow(keys, rules, costs, consume));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Synchronous form of take, for callers that avoid a promise. */
  takeNow(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
    consume: boolean,
  ): number[] {
    const nowUs = this.clock.nowUs();
    const debtsUs = keys.map((key) => debtAt(this.live(key, nowUs), nowUs));
    const reply: number[] = [];
    const needsUs = judgeBuckets(debtsUs, rules, costs, consume, reply);
    if (needsUs !== undefined) {
      keys.forEach((key, i) => {
        if (needsUs[i]! > debtsUs[i]!) this.write(key, needsUs[i]!, nowUs);
      });
    }
    return reply;
  }

  reset(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.buckets.delete(key);
    return Promise.resolve();
  }

  resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    const suffix = `{${identity}}`;
    for (const key of this.buckets.keys()) {
      if (key.startsWith(keyPrefix) && key.endsWith(suffix)) this.buckets.delete(key);
    }
    return Promise.resolve();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
    this.buckets.clear();
  }

  /** Drops every bucket that is full again. */
  sweep(): void {
    const nowUs = this.clock.nowUs();
    for (const [key, bucket] of this.buckets) {
      if (bucket.expiresAtUs <= nowUs) this.buckets.delete(key);
    }
  }

  private live(key: string, nowUs: number): MemoryBucket | undefined {
    const bucket = this.buckets.get(key);
    if (bucket !== undefined && bucket.expiresAtUs <= nowUs) {
      this.buckets.delete(key);
      return undefined;
    }
    return bucket;
  }

  private write(key: string, debtUs: number, nowUs: number): void {
    this.buckets.delete(key);
    this.buckets.set(key, {
      fullAtUs: nowUs + debtUs,
      expiresAtUs: nowUs + Math.ceil(debtUs / 1000) * 1000,
    });
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
  }
}
