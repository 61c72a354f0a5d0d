import { performance } from 'node:perf_hooks';
import type { Logger } from '@nestjs/common';
import type { BucketRule, LeaseSettings } from '../options/resolved-limit.interface.js';
import type { RateLimitStore } from '../stores/rate-limit-store.interface.js';
import { LeaseBook } from './lease-book.js';

/** How often expired leases are given back; a lease may outlive its ttlMs by this much. */
const SWEEP_INTERVAL_MS = 100;

export type LeasingStore = Required<Pick<RateLimitStore, 'lease' | 'refund'>>;

/**
 * Token leasing: spends leased tokens locally, tops leases up from Redis with the request that
 * needs them (one round trip, the same script), and gives expired tokens back.
 */
export class Leasing {
  readonly book: LeaseBook;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: LeasingStore,
    private readonly logger: Pick<Logger, 'debug'>,
    maxKeys: number,
  ) {
    this.book = new LeaseBook(maxKeys);
  }

  /** The reply for a request its leases cover, spent locally; else undefined. */
  spend(keys: readonly string[], costs: readonly number[]): number[] | undefined {
    return this.book.size === 0 ? undefined : this.book.spend(keys, costs, performance.now());
  }

  /** Consumes `costs` in Redis and tops the leases up; resolves the store's reply layout. */
  take(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
    leases: readonly LeaseSettings[],
  ): Promise<number[]> {
    const wanted = this.book.wanted(keys, leases, performance.now());
    return this.store.lease(keys, rules, costs, wanted).then((reply) => {
      const granted = this.book.grant(keys, rules, leases, reply, performance.now());
      this.sweeper ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
      return granted;
    });
  }

  /** Gives back every lease (at shutdown), bounded by the store's own timeout. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.giveBack(Number.POSITIVE_INFINITY);
  }

  private sweep(): void {
    void this.giveBack(performance.now());
    if (this.book.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private async giveBack(nowMs: number): Promise<void> {
    const expired = this.book.takeExpired(nowMs);
    if (expired.keys.length === 0) return;
    try {
      await this.store.refund(expired.keys, expired.rules, expired.tokens);
    } catch (error) {
      // The tokens stay taken until they refill: under-admission, never over-admission.
      this.logger.debug(
        `Could not give back ${expired.tokens.reduce((a, b) => a + b, 0)} leased tokens: ${String(error)}`,
      );
    }
  }
}
