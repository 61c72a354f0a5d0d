import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import type { BucketRequest } from '../algorithms/algorithm.interface.js';
import { RATE_LIMIT_LOG_CONTEXT } from '../rate-limit.constants.js';
import type { DecisionLayer, Take, TakeQuery } from './decision-layer.interface.js';
import { LeaseBook } from './lease-book.js';

/** How often expired leases are given back; a lease may outlive its ttlMs by this much. */
const SWEEP_INTERVAL_MS = 100;

/**
 * Token leasing: a consuming request whose every limit leases spends leased tokens locally when
 * it can; else it goes to the store in lease mode, which consumes its cost and tops the leases
 * up in the same round trip. Expired leases are given back every 100 ms and at shutdown. During
 * an outage the layer below answers by the failure strategy, which grants nothing.
 */
export class LeaseLayer implements DecisionLayer {
  readonly book: LeaseBook;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly inner: DecisionLayer,
    maxKeys: number,
    private readonly logger: Pick<Logger, 'debug'> = new Logger(RATE_LIMIT_LOG_CONTEXT),
  ) {
    this.book = new LeaseBook(maxKeys);
  }

  get description(): string {
    return this.inner.description;
  }

  take(query: TakeQuery): Promise<Take> {
    const { requests } = query;
    if (query.mode !== 'consume' || !requests.every((request) => request.lease !== undefined)) {
      return this.inner.take(query);
    }
    const spent = this.book.size === 0 ? undefined : this.book.spend(requests, performance.now());
    if (spent !== undefined) return Promise.resolve({ results: spent, source: 'lease' });
    const nowMs = performance.now();
    const leasing = requests.map((request) => ({
      ...request,
      extra: this.book.wanted(request, nowMs),
    }));
    return this.inner.take({ ...query, requests: leasing, mode: 'lease' }).then((take) => {
      if (take.source !== 'redis') return take;
      const results = this.book.grant(requests, take.results, performance.now());
      this.sweeper ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
      return { ...take, results };
    });
  }

  refund(requests: readonly BucketRequest[]): Promise<void> {
    return this.inner.refund(requests);
  }

  reset(keys: readonly string[]): Promise<void> {
    this.book.forget(keys);
    return this.inner.reset(keys);
  }

  resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    this.book.forgetIdentity(keyPrefix, identity);
    return this.inner.resetIdentity(keyPrefix, identity);
  }

  /** Gives back every lease, bounded by the store's own timeout, before the store closes. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.giveBack(Number.POSITIVE_INFINITY);
    await this.inner.close();
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
    if (expired.length === 0) return;
    try {
      await this.inner.refund(expired);
    } catch (error) {
      // The tokens stay taken until they refill: under-admission, never over-admission.
      this.logger.debug(
        `Could not give back ${expired.reduce((sum, { cost }) => sum + cost, 0)} leased tokens: ${String(error)}`,
      );
    }
  }
}
