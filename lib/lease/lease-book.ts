import type { BucketRule, LeaseSettings } from '../options/resolved-limit.interface.js';

interface Lease {
  tokens: number;
  expiresAtMs: number;
  readonly rule: BucketRule;
  /** What Redis reported when the lease was taken, for the decision's numbers. */
  readonly remaining: number;
  readonly resetMs: number;
}

/** Tokens whose lease ran out, to give back to Redis. */
export interface ExpiredLeases {
  readonly keys: string[];
  readonly rules: BucketRule[];
  readonly tokens: number[];
}

/**
 * The tokens this instance leased from Redis, per bucket key. Pure bookkeeping: the engine asks
 * Redis and gives expired tokens back. A request spends from leases only if every one of its
 * buckets holds its cost, so all-or-nothing holds locally too.
 */
export class LeaseBook {
  private readonly leases = new Map<string, Lease>();

  /** `maxKeys` bounds the keys marked as seen; a key holding tokens is always kept. */
  constructor(private readonly maxKeys = Number.POSITIVE_INFINITY) {}

  get size(): number {
    return this.leases.size;
  }

  /**
   * Spends each cost from its bucket's lease when all of them hold enough; returns the reply in
   * the store's layout (remaining counts what Redis had left plus what this lease still holds),
   * or undefined, spending nothing, when the request must go to Redis.
   */
  spend(keys: readonly string[], costs: readonly number[], nowMs: number): number[] | undefined {
    const found: Lease[] = [];
    for (let i = 0; i < keys.length; i++) {
      const lease = this.leases.get(keys[i]!);
      if (lease === undefined || lease.expiresAtMs <= nowMs || lease.tokens < costs[i]!) {
        return undefined;
      }
      found.push(lease);
    }
    const reply: number[] = [];
    for (let i = 0; i < found.length; i++) {
      const lease = found[i]!;
      lease.tokens -= costs[i]!;
      reply.push(lease.remaining + lease.tokens, lease.resetMs, 0);
    }
    return reply;
  }

  /**
   * Tokens to ask Redis for on top of the cost: what tops each lease up to its size. A bucket
   * seen for the first time within its ttl asks none: a lease on a key that gets no second
   * request would cost a refund, a second round trip, for nothing.
   */
  wanted(keys: readonly string[], leases: readonly LeaseSettings[], nowMs: number): number[] {
    return keys.map((key, i) => {
      const lease = this.leases.get(key);
      if (lease === undefined || lease.expiresAtMs <= nowMs) return 0;
      return Math.max(0, leases[i]!.tokens - lease.tokens);
    });
  }

  /**
   * Records the tokens Redis granted (reply per bucket [remaining, resetMs, retryAfterMs,
   * granted]) and returns the reply in the store's layout, remaining including this lease.
   */
  grant(
    keys: readonly string[],
    rules: readonly BucketRule[],
    leases: readonly LeaseSettings[],
    leaseReply: readonly number[],
    nowMs: number,
  ): number[] {
    const reply: number[] = [];
    let passed = true;
    for (let i = 2; i < leaseReply.length; i += 4) if (leaseReply[i] !== 0) passed = false;
    for (let i = 0; i < keys.length; i++) {
      const [remaining, resetMs, retryAfterMs, granted] = leaseReply.slice(4 * i, 4 * i + 4) as [
        number,
        number,
        number,
        number,
      ];
      const key = keys[i]!;
      const previous = this.leases.get(key);
      const held =
        granted + (previous !== undefined && previous.expiresAtMs > nowMs ? previous.tokens : 0);
      // Kept even when empty: it marks the key as seen, so its next request leases. Beyond
      // maxKeys new keys are not marked (they just do not lease); granted tokens always are.
      const marks = granted > 0 || previous !== undefined || this.leases.size < this.maxKeys;
      if (passed && marks) {
        this.leases.set(key, {
          tokens: held,
          expiresAtMs: nowMs + leases[i]!.ttlMs,
          rule: rules[i]!,
          remaining,
          resetMs,
        });
      }
      reply.push(remaining + held, resetMs, retryAfterMs);
    }
    return reply;
  }

  /** Removes the leases that ran out (all of them with `Infinity`) and returns their tokens. */
  takeExpired(nowMs: number): ExpiredLeases {
    const expired: ExpiredLeases = { keys: [], rules: [], tokens: [] };
    for (const [key, lease] of this.leases) {
      if (lease.expiresAtMs > nowMs) continue;
      this.leases.delete(key);
      if (lease.tokens > 0) {
        expired.keys.push(key);
        expired.rules.push(lease.rule);
        expired.tokens.push(lease.tokens);
      }
    }
    return expired;
  }

  /** Drops leases without giving them back (their buckets were reset). */
  forget(keys: readonly string[]): void {
    for (const key of keys) this.leases.delete(key);
  }

  forgetIdentity(keyPrefix: string, identity: string): void {
    const suffix = `{${identity}}`;
    for (const key of this.leases.keys()) {
      if (key.startsWith(keyPrefix) && key.endsWith(suffix)) this.leases.delete(key);
    }
  }
}
