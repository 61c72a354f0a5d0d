import type {
  Algorithm,
  BucketCheck,
  BucketResult,
  Settled,
  TokenBucketRule,
} from '../algorithm.interface.js';
import { readLua } from '../lua-command.js';

/**
 * The token bucket, in TypeScript for the memory store, the deny cache and the local fallback,
 * and in token-bucket.lua for Redis. Every expression mirrors the script in the same order, so
 * both give the same decisions; one table of cases (token-bucket.cases.ts) drives the tests of
 * both. The state is the instant, in integer microseconds, at which the bucket is full again.
 */

/** Absorbs float rounding of fractional costs; never accumulates across calls. */
const TOLERANCE_TOKENS = 1e-6;

interface TokenBucketCheck extends BucketCheck {
  readonly debtUs: number;
  readonly needUs: number;
}

function remainingOf(rule: TokenBucketRule, debtUs: number): number {
  const { capacity, usPerToken } = rule;
  return Math.max(0, Math.floor((capacity * usPerToken - debtUs) / usPerToken + TOLERANCE_TOKENS));
}

/** A state to write: the bucket is full at `nowUs + debtUs`, and expires then (PX, whole ms). */
function written(debtUs: number, nowUs: number): Settled<number>['write'] {
  return { state: nowUs + debtUs, expiresAtUs: nowUs + Math.ceil(debtUs / 1000) * 1000 };
}

export const tokenBucket: Algorithm<number, TokenBucketCheck, TokenBucketRule> = {
  name: 'token-bucket',
  code: 1,
  lua: readLua('token-bucket/token-bucket.lua'),

  scriptParam: (rule) => rule.usPerToken,

  check(fullAtUs, rule, cost, nowUs) {
    const { capacity, usPerToken } = rule;
    const maxDebtUs = capacity * usPerToken;
    // Not a number: no bucket, or another algorithm's state (a limit that changed algorithm).
    const debtUs =
      typeof fullAtUs !== 'number' ? 0 : Math.min(Math.max(0, fullAtUs - nowUs), maxDebtUs);
    const needUs = debtUs + cost * usPerToken;
    let retryAfterMs = 0;
    if (cost > capacity) retryAfterMs = -1;
    else if (needUs > maxDebtUs + TOLERANCE_TOKENS * usPerToken) {
      retryAfterMs = Math.ceil((needUs - maxDebtUs) / 1000);
    }
    return { retryAfterMs, debtUs, needUs };
  },

  settle(check, rule, _cost, write, extra, nowUs) {
    let { debtUs, needUs } = check;
    let granted = 0;
    let change: Settled<number>['write'];
    if (write) {
      if (extra > 0) {
        const spare = Math.floor(
          (rule.capacity * rule.usPerToken - needUs) / rule.usPerToken + TOLERANCE_TOKENS,
        );
        granted = Math.max(0, Math.min(extra, spare));
        needUs += granted * rule.usPerToken;
      }
      if (needUs > debtUs) {
        debtUs = Math.ceil(needUs);
        change = written(debtUs, nowUs);
      }
    }
    const result: BucketResult = {
      limit: rule.capacity,
      remaining: remainingOf(rule, debtUs),
      resetMs: Math.ceil(debtUs / 1000),
      retryAfterMs: check.retryAfterMs,
      granted,
    };
    return change === undefined ? { result } : { result, write: change };
  },

  refund(fullAtUs, rule, tokens, nowUs) {
    let debtUs = 0;
    let change: Settled<number>['write'];
    if (typeof fullAtUs === 'number') {
      debtUs =
        Math.min(fullAtUs - nowUs, rule.capacity * rule.usPerToken) - tokens * rule.usPerToken;
      if (debtUs <= 0) {
        debtUs = 0;
        change = { state: undefined, expiresAtUs: nowUs };
      } else {
        debtUs = Math.ceil(debtUs);
        change = written(debtUs, nowUs);
      }
    }
    const result = {
      limit: rule.capacity,
      remaining: remainingOf(rule, debtUs),
      resetMs: Math.ceil(debtUs / 1000),
      retryAfterMs: 0,
      granted: 0,
    };
    return change === undefined ? { result } : { result, write: change };
  },

  /**
   * A denial's result bounds the debt from below: resetMs = ceil(debt / 1000) and
   * retryAfterMs = ceil((debt + cost·usPerToken − max) / 1000), both ceilings, so one ms less
   * than either is a strict lower bound. Debt falls with time no faster than the clock runs.
   */
  deniedState(rule, cost, result, atUs) {
    let debtUs = Math.max(0, (result.resetMs - 1) * 1000);
    if (result.retryAfterMs > 0) {
      debtUs = Math.max(
        debtUs,
        (result.retryAfterMs - 1) * 1000 + (rule.capacity - cost) * rule.usPerToken,
      );
    }
    return atUs + debtUs;
  },

  /**
   * Capacity rounds down (never above the global burst in sum) but stays at least one token, so
   * a limit smaller than the fleet still lets each instance serve; refill divides exactly.
   */
  share: (rule, instances) => ({
    algorithm: rule.algorithm,
    capacity: Math.max(1, Math.floor(rule.capacity / instances)),
    usPerToken: rule.usPerToken * instances,
  }),
};
