import type { BucketRequest, BucketResult, BucketRule } from '../algorithms/algorithm.interface.js';
import { isKeyOf } from '../keys/bucket-key.js';

interface Lease {
  tokens: number;
  expiresAtMs: number;
  readonly rule: BucketRule;
  /** What the store reported when the lease was taken, for the decision's numbers. */
  readonly remaining: number;
  readonly resetMs: number;
}

/**
 * The tokens this instance leased from the store, per bucket key. Pure bookkeeping: the lease
 * layer asks the store and gives expired tokens back. A request spends from leases only if
 * every one of its buckets holds its cost, so all-or-nothing holds locally too.
 */
export class LeaseBook {
  private readonly leases = new Map<string, Lease>();

  /** `maxKeys` bounds the keys marked as seen; a key holding tokens is always kept. */
  constructor(private readonly maxKeys = Number.POSITIVE_INFINITY) {}

  get size(): number {
    return this.leases.size;
  }

  /**
   * Spends each cost from its bucket's lease when all of them hold enough; returns the results
   * (remaining counts what the store had left plus what this lease still holds), or undefined,
   * spending nothing, when the request must go to the store.
   */
  spend(requests: readonly BucketRequest[], nowMs: number): BucketResult[] | undefined {
    const found: Lease[] = [];
    for (const { key, cost } of requests) {
      const lease = this.leases.get(key);
      if (lease === undefined || lease.expiresAtMs <= nowMs || lease.tokens < cost)
        return undefined;
      found.push(lease);
    }
    return found.map((lease, i) => {
      lease.tokens -= requests[i]!.cost;
      return {
        limit: lease.rule.capacity,
        remaining: lease.remaining + lease.tokens,
        resetMs: lease.resetMs,
        retryAfterMs: 0,
        granted: 0,
      };
    });
  }

  /**
   * Tokens to ask the store for on top of each cost: what tops the lease up to its size. A
   * bucket seen for the first time within its ttl asks none: a lease on a key that gets no
   * second request would cost a refund, a second round trip, for nothing.
   */
  wanted(request: BucketRequest, nowMs: number): number {
    const lease = this.leases.get(request.key);
    if (lease === undefined || lease.expiresAtMs <= nowMs || request.lease === undefined) return 0;
    return Math.max(0, request.lease.tokens - lease.tokens);
  }

  /**
   * Records the tokens the store granted and returns the results as the request sees them,
   * remaining including this lease.
   */
  grant(
    requests: readonly BucketRequest[],
    results: readonly BucketResult[],
    nowMs: number,
  ): BucketResult[] {
    const passed = results.every((result) => result.retryAfterMs === 0);
    return results.map((result, i) => {
      const { key, rule, lease } = requests[i]!;
      const previous = this.leases.get(key);
      const held =
        result.granted +
        (previous !== undefined && previous.expiresAtMs > nowMs ? previous.tokens : 0);
      // Kept even when empty: it marks the key as seen, so its next request leases. Beyond
      // maxKeys new keys are not marked (they just do not lease); granted tokens always are.
      const marks = result.granted > 0 || previous !== undefined || this.leases.size < this.maxKeys;
      if (passed && marks && lease !== undefined) {
        this.leases.set(key, {
          tokens: held,
          expiresAtMs: nowMs + lease.ttlMs,
          rule,
          remaining: result.remaining,
          resetMs: result.resetMs,
        });
      }
      return { ...result, remaining: result.remaining + held, granted: 0 };
    });
  }

  /** Removes the leases that ran out (all of them with `Infinity`): refunds of their tokens. */
  takeExpired(nowMs: number): BucketRequest[] {
    const expired: BucketRequest[] = [];
    for (const [key, lease] of this.leases) {
      if (lease.expiresAtMs > nowMs) continue;
      this.leases.delete(key);
      if (lease.tokens > 0) expired.push({ key, rule: lease.rule, cost: lease.tokens });
    }
    return expired;
  }

  /** Drops leases without giving them back (their buckets were reset). */
  forget(keys: readonly string[]): void {
    for (const key of keys) this.leases.delete(key);
  }

  forgetIdentity(keyPrefix: string, identity: string): void {
    for (const key of this.leases.keys()) {
      if (isKeyOf(key, keyPrefix, identity)) this.leases.delete(key);
    }
  }
}
