import type { BucketRule } from '../options/resolved-limit.interface.js';

/**
 * The same token bucket as token-bucket.lua, in TypeScript, for the memory store. Every
 * expression mirrors the script in the same order, so both give the same decisions; one table
 * of cases (test/support/token-bucket.cases.ts) drives the tests of both.
 */

/** Absorbs float rounding in sums of usPerToken; never accumulates across calls. */
export const TOLERANCE_TOKENS = 1e-6;

/** A bucket that is not full: microseconds it needs to be full, as of `writtenAtUs`. */
export interface BucketState {
  debtUs: number;
  writtenAtUs: number;
}

/** Microseconds the bucket needs to be full again at `nowUs`. */
export function debtAt(state: BucketState | undefined, nowUs: number): number {
  if (state === undefined) return 0;
  const elapsedUs = Math.max(0, nowUs - state.writtenAtUs);
  return Math.max(0, state.debtUs - elapsedUs);
}

/**
 * Judges one request over several buckets, all-or-nothing, and writes the reply in the script's
 * layout: per bucket [remaining, resetMs, retryAfterMs]. Returns the debts to store when the
 * request consumes and passes, else undefined.
 */
export function judgeBuckets(
  debtsUs: readonly number[],
  rules: readonly BucketRule[],
  costs: readonly number[],
  consume: boolean,
  reply: number[],
): number[] | undefined {
  const needsUs: number[] = [];
  let allPass = true;
  for (let i = 0; i < rules.length; i++) {
    const { capacity, usPerToken } = rules[i]!;
    const cost = costs[i]!;
    const maxDebtUs = capacity * usPerToken;
    const needUs = debtsUs[i]! + cost * usPerToken;
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
    const debtUs = write ? Math.max(needsUs[i]!, debtsUs[i]!) : debtsUs[i]!;
    reply[3 * i] = Math.max(
      0,
      Math.floor((capacity * usPerToken - debtUs) / usPerToken + TOLERANCE_TOKENS),
    );
    reply[3 * i + 1] = Math.ceil(debtUs / 1000);
  }
  return write ? needsUs : undefined;
}
