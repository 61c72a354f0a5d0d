import { judgeBuckets } from '../algorithms/token-bucket.js';
import type { BucketRule } from '../options/resolved-limit.interface.js';
import type { Clock } from '../stores/clock.js';

/** What this instance knows of a bucket that denied: its debt was at least `debtUs` at `atUs`. */
interface KnownDebt {
  readonly debtUs: number;
  readonly atUs: number;
}

/**
 * Answers requests that are sure to be denied without asking the store.
 *
 * When the store denies, each bucket's reply bounds its debt (µs until full) from below:
 * resetMs = ceil(debt / 1000) and retryAfterMs = ceil((debt + cost·usPerToken − max) / 1000).
 * That bound, dated by the local clock *before* the request was sent, can only be too low:
 * debt falls with time no faster than the clock runs, and only rises when others consume. A
 * request judged against these lower bounds that still fails is therefore denied by the store
 * too, so the cache never changes a decision; anything it cannot prove denied goes to the store.
 * The one exception is a reset on another instance, which this instance cannot see: its cached
 * denials hold until they would have expired anyway (at most the retry-after they reported).
 *
 * A denial writes nothing, so answering it locally leaves the store's state exactly as it would
 * have been. Bounded: beyond `maxKeys` the least recently denied keys are dropped.
 */
export class DenyCache {
  private readonly known = new Map<string, KnownDebt>();

  constructor(
    private readonly maxKeys: number,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.known.size;
  }

  now(): number {
    return this.clock.nowUs();
  }

  /**
   * The store's reply layout for a request the known debts prove denied, else undefined.
   * Every key must be known: all-or-nothing needs every bucket's state to build the reply.
   */
  lookup(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
  ): number[] | undefined {
    if (this.known.size === 0) return undefined;
    const nowUs = this.clock.nowUs();
    const debtsUs: number[] = [];
    for (const key of keys) {
      const known = this.known.get(key);
      if (known === undefined) return undefined;
      debtsUs.push(Math.max(0, known.debtUs - Math.max(0, nowUs - known.atUs)));
    }
    const reply: number[] = [];
    judgeBuckets(debtsUs, rules, costs, false, reply);
    for (let i = 2; i < reply.length; i += 3) {
      if (reply[i] !== 0) return reply;
    }
    // Might pass now: the store decides, and its answer replaces what is known.
    for (const key of keys) this.known.delete(key);
    return undefined;
  }

  /** Remembers the buckets of a denied request; `sentAtUs` is `now()` before it was sent. */
  recordDenial(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
    reply: readonly number[],
    sentAtUs: number,
  ): void {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      this.known.delete(key);
      this.known.set(key, {
        debtUs: debtLowerBound(rules[i]!, costs[i]!, reply, i),
        atUs: sentAtUs,
      });
    }
    while (this.known.size > this.maxKeys) {
      this.known.delete(this.known.keys().next().value!);
    }
  }

  /** Forgets keys whose buckets changed in a way a lower bound cannot follow (allowed, reset). */
  forget(keys: readonly string[]): void {
    if (this.known.size === 0) return;
    for (const key of keys) this.known.delete(key);
  }

  /** Forgets every key of an identity under a prefix (`<prefix>…{<identity>}`). */
  forgetIdentity(keyPrefix: string, identity: string): void {
    const suffix = `{${identity}}`;
    for (const key of this.known.keys()) {
      if (key.startsWith(keyPrefix) && key.endsWith(suffix)) this.known.delete(key);
    }
  }
}

/** The largest debt the reply of bucket `i` proves; both roundings are ceilings, so strict. */
function debtLowerBound(
  rule: BucketRule,
  cost: number,
  reply: readonly number[],
  i: number,
): number {
  const resetMs = reply[3 * i + 1]!;
  const retryAfterMs = reply[3 * i + 2]!;
  let debtUs = Math.max(0, (resetMs - 1) * 1000);
  if (retryAfterMs > 0) {
    debtUs = Math.max(debtUs, (retryAfterMs - 1) * 1000 + (rule.capacity - cost) * rule.usPerToken);
  }
  return debtUs;
}
