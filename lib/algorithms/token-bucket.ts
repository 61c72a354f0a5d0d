import type { BucketRule } from '../options/resolved-limit.interface.js';

/**
 * The same token bucket as token-bucket.lua, in TypeScript, for the memory store. Every
 * expression mirrors the script in the same order, so both give the same decisions; one table
 * of cases (test/support/token-bucket.cases.ts) drives the tests of both.
 */

/** Absorbs float rounding in sums of usPerToken; never accumulates across calls. */
export const TOLERANCE_TOKENS = 1e-6;

/** A bucket that is not full: the instant, in integer microseconds, at which it is full. */
export interface BucketState {
  fullAtUs: number;
}

/** Microseconds the bucket needs to be full again at `nowUs` (capped by judgeBuckets). */
export function debtAt(state: BucketState | undefined, nowUs: number): number {
  return state === undefined ? 0 : Math.max(0, state.fullAtUs - nowUs);
}

/**
 * Judges one request over several buckets, all-or-nothing, and writes the reply in the script's
 * layout: per bucket [remaining, resetMs, retryAfterMs]. Returns the debts to store (whole
 * microseconds, rounded up as the script stores them) when the request consumes and passes,
 * else undefined; a debt that does not grow is not written.
 */
export function judgeBuckets(
  debtsUs: readonly number[],
  rules: readonly BucketRule[],
  costs: readonly number[],
  consume: boolean,
  reply: number[],
): number[] | undefined {
  const needsUs: number[] = [];
  const debts: number[] = [];
  let allPass = true;
  for (let i = 0; i < rules.length; i++) {
    const { capacity, usPerToken } = rules[i]!;
    const cost = costs[i]!;
    const maxDebtUs = capacity * usPerToken;
    const debtUs = Math.min(debtsUs[i]!, maxDebtUs);
    debts.push(debtUs);
    const needUs = debtUs + cost * usPerToken;
    let retryAfterMs = 0;
    if (cost > capacity) retryAfterMs = -1;
    else if (needUs > maxDebtUs + TOLERANCE_TOKENS * usPerToken) {
      retryAfterMs = Math.ceil((needUs - maxDebtUs) / 1000);
    }
    if (retryAfterMs !== 0) allPass = false;
    needsUs.push(needUs);
    reply[3 * i + 2] = retryAfterMs;
  }
  const write = allPass && consume;
  for (let i = 0; i < rules.length; i++) {
    const { capacity, usPerToken } = rules[i]!;
    let debtUs = debts[i]!;
    if (write && needsUs[i]! > debtUs) {
      debtUs = Math.ceil(needsUs[i]!);
      needsUs[i] = debtUs;
    } else {
      needsUs[i] = debtUs;
    }
    reply[3 * i] = Math.max(
      0,
      Math.floor((capacity * usPerToken - debtUs) / usPerToken + TOLERANCE_TOKENS),
    );
    reply[3 * i + 1] = Math.ceil(debtUs / 1000);
  }
  return write ? needsUs : undefined;
}
