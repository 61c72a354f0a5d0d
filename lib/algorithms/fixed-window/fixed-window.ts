import type { Algorithm, BucketCheck, BucketResult, WindowRule } from '../algorithm.interface.js';
import { readLua } from '../lua-command.js';

/**
 * The fixed window, in TypeScript for the memory store, the deny cache and the local fallback,
 * and in fixed-window.lua for Redis, with the same decisions; one table of cases
 * (fixed-window.cases.ts) drives the tests of both. Windows are aligned to the clock: window n
 * covers [n·windowUs, (n + 1)·windowUs). Counts are whole: a fractional cost counts as its
 * ceiling.
 *
 * The state is the count and the end of the window it belongs to; it applies until then (the
 * next window's count too, after the clock stepped back), after which the count is 0. The script
 * keeps the count as the key's value and the window's end as the key's expiry (PXAT), which does
 * not say the window's length: there, a count kept under another windowMs whose end is also this
 * window's or the next's counts until that end, where here it counts for nothing. So after a
 * limit's window changed, the script may deny more than this code for up to two windows, never
 * admit more.
 */
interface FixedWindowState {
  /** When the window this count belongs to ends: aligned in a store, any instant in the deny cache. */
  readonly endUs: number;
  readonly count: number;
  /** The rule's window: a count kept under another (a limit whose window changed) is stale. */
  readonly windowUs: number;
}

interface FixedWindowCheck extends BucketCheck {
  readonly count: number;
  readonly endUs: number;
}

/** Whether a state is one this algorithm wrote (not another's, after a limit changed algorithm). */
function isOwn(state: unknown): state is FixedWindowState {
  return typeof state === 'object' && state !== null && 'endUs' in state && 'count' in state;
}

function judge(
  state: FixedWindowState | undefined,
  rule: WindowRule,
  cost: number,
  nowUs: number,
): FixedWindowCheck {
  const alignedEndUs = nowUs - (nowUs % rule.windowUs) + rule.windowUs;
  // this window's count, or the next one's (the clock stepped back); further ahead: stale
  const live =
    isOwn(state) &&
    state.windowUs === rule.windowUs &&
    state.endUs > nowUs &&
    state.endUs <= alignedEndUs + rule.windowUs;
  const count = live ? state.count : 0;
  const endUs = live ? state.endUs : alignedEndUs;
  const whole = Math.ceil(cost);
  let retryAfterMs = 0;
  if (whole > rule.capacity) retryAfterMs = -1;
  else if (count + whole > rule.capacity) retryAfterMs = Math.ceil((endUs - nowUs) / 1000);
  return { retryAfterMs, count, endUs };
}

function resultOf(
  rule: WindowRule,
  count: number,
  endUs: number,
  retryAfterMs: number,
  nowUs: number,
): BucketResult {
  return {
    limit: rule.capacity,
    remaining: Math.max(0, rule.capacity - count),
    resetMs: count > 0 ? Math.ceil((endUs - nowUs) / 1000) : 0,
    retryAfterMs,
    granted: 0,
  };
}

export const fixedWindow: Algorithm<FixedWindowState, FixedWindowCheck, WindowRule> = {
  name: 'fixed-window',
  code: 2,
  lua: readLua('fixed-window/fixed-window.lua'),
  // PEXPIRETIME tells which window a count belongs to
  minRedisVersion: '7.0',
  newerCommands: ['PEXPIRETIME'],

  scriptParam: (rule) => rule.windowUs,

  check: judge,

  /** Leasing is refused for windows (options/resolve-limits.ts): `extra` grants nothing. */
  settle(check, rule, cost, write, _extra, nowUs) {
    const { endUs } = check;
    const whole = Math.ceil(cost);
    if (!write || whole <= 0) {
      return { result: resultOf(rule, check.count, endUs, check.retryAfterMs, nowUs) };
    }
    const count = check.count + whole;
    return {
      result: resultOf(rule, count, endUs, check.retryAfterMs, nowUs),
      write: { state: { endUs, count, windowUs: rule.windowUs }, expiresAtUs: endUs },
    };
  },

  /**
   * Lowers the current window's count. A refund cannot tell which window its tokens were taken
   * in: one that arrives after that window ended gives them to the current window.
   */
  refund(state, rule, tokens, nowUs) {
    const { count, endUs } = judge(state, rule, 0, nowUs);
    if (count === 0) return { result: resultOf(rule, 0, endUs, 0, nowUs) };
    const left = Math.max(0, count - Math.ceil(tokens));
    return {
      result: resultOf(rule, left, endUs, 0, nowUs),
      write: {
        state: left === 0 ? undefined : { endUs, count: left, windowUs: rule.windowUs },
        expiresAtUs: endUs,
      },
    };
  },

  /**
   * A count only grows within its window, and remaining = capacity − count exactly, so the
   * denial proves that count until the window ends; resetMs, a ceiling, puts the end more than
   * resetMs − 1 ms after `atUs` (the request was sent before Redis judged it). A denial then
   * holds until the window ends, for every cost.
   */
  deniedState: (rule, _cost, result, atUs) => ({
    endUs: atUs + Math.max(0, result.resetMs - 1) * 1000,
    count: rule.capacity - result.remaining,
    windowUs: rule.windowUs,
  }),

  /** Capacity rounds down but stays at least one token; windows stay as they are. */
  share: (rule, instances) => ({
    algorithm: rule.algorithm,
    capacity: Math.max(1, Math.floor(rule.capacity / instances)),
    windowUs: rule.windowUs,
  }),
};
