import type {
  Algorithm,
  BucketCheck,
  BucketResult,
  Settled,
  WindowRule,
} from '../algorithm.interface.js';
import { readLua } from '../lua-command.js';

/**
 * The sliding window (the weighted two-window counter), in TypeScript for the memory store, the
 * deny cache and the local fallback, and in sliding-window.lua for Redis. Every expression
 * mirrors the script in the same order, so both give the same decisions; one table of cases
 * (sliding-window.cases.ts) drives the tests of both.
 *
 * At `elapsedUs` into window n, `weighted = previous·(windowUs − elapsedUs)/windowUs + current`
 * and a request passes when `weighted + cost <= capacity`: in any span of one window it admits
 * less than 2·capacity (the previous window's tokens may all have come at its end), and within
 * one aligned window at most capacity. Counts are whole: a fractional cost counts as its
 * ceiling.
 */
interface Counts {
  /** The window's number: it covers [n·windowUs, (n + 1)·windowUs). */
  readonly n: number;
  readonly previous: number;
  readonly current: number;
}

/**
 * What the deny cache knows after a denial: a request of at least `cost` is denied until
 * `untilUs`. The weighted count falls with time along a path the denial does not reveal, so
 * only the wait it reported is proven, and only for costs as high.
 */
interface Hold {
  readonly cost: number;
  readonly untilUs: number;
  /** The rule it was learnt under: under another (a limit that changed) it proves nothing. */
  readonly capacity: number;
  readonly windowUs: number;
  /** What the store reported, for the results answered meanwhile. */
  readonly remaining: number;
  readonly resetAtUs: number;
}

type SlidingWindowState = Counts | Hold;

interface SlidingWindowCheck extends BucketCheck {
  /** The counts as of now, or the deny cache's hold it was judged against. */
  readonly state: Counts | Hold;
}

/** Absorbs float rounding of the weight; never accumulates across calls. */
const TOLERANCE_TOKENS = 1e-6;

function isHold(state: SlidingWindowState): state is Hold {
  return 'untilUs' in state;
}

/** The state if this algorithm wrote it; undefined for another's (a limit changed algorithm). */
function own(state: unknown): SlidingWindowState | undefined {
  return typeof state === 'object' && state !== null && ('n' in state || 'untilUs' in state)
    ? (state as SlidingWindowState)
    : undefined;
}

/** The counts of window n as of `nowUs`: a stored window rolled forward, or empty. */
function load(state: Counts | undefined, windowUs: number, nowUs: number): Counts {
  const n = (nowUs - (nowUs % windowUs)) / windowUs;
  if (state?.n === n - 1) return { n, previous: state.current, current: 0 };
  // this window, or the next one (the clock stepped back); further ahead: another windowMs's
  if (state?.n === n || state?.n === n + 1) return state;
  return { n, previous: 0, current: 0 };
}

function weigh(counts: Counts, windowUs: number, nowUs: number): [number, number] {
  const elapsedUs = Math.max(0, nowUs - counts.n * windowUs);
  return [elapsedUs, (counts.previous * (windowUs - elapsedUs)) / windowUs + counts.current];
}

function resetUsOf(counts: Counts, windowUs: number, nowUs: number): number {
  if (counts.current > 0) return (counts.n + 2) * windowUs - nowUs;
  if (counts.previous > 0) return (counts.n + 1) * windowUs - nowUs;
  return 0;
}

function resultOf(
  rule: WindowRule,
  counts: Counts,
  retryAfterMs: number,
  nowUs: number,
): BucketResult {
  const [, weighted] = weigh(counts, rule.windowUs, nowUs);
  return {
    limit: rule.capacity,
    remaining: Math.max(0, Math.floor(rule.capacity - weighted + TOLERANCE_TOKENS)),
    resetMs: Math.ceil(resetUsOf(counts, rule.windowUs, nowUs) / 1000),
    retryAfterMs,
    granted: 0,
  };
}

/** A state to write: it expires when its counts weigh nothing. */
function written(
  counts: Counts,
  windowUs: number,
  nowUs: number,
): NonNullable<Settled<Counts>['write']> {
  const resetUs = resetUsOf(counts, windowUs, nowUs);
  return {
    state: resetUs > 0 ? counts : undefined,
    expiresAtUs: nowUs + Math.ceil(resetUs / 1000) * 1000,
  };
}

function judgeHold(hold: Hold, rule: WindowRule, whole: number, nowUs: number): number {
  if (whole > rule.capacity) return -1;
  const same = hold.capacity === rule.capacity && hold.windowUs === rule.windowUs;
  return same && whole >= hold.cost && nowUs < hold.untilUs
    ? Math.ceil((hold.untilUs - nowUs) / 1000)
    : 0;
}

function holdResult(
  rule: WindowRule,
  hold: Hold,
  retryAfterMs: number,
  nowUs: number,
): BucketResult {
  return {
    limit: rule.capacity,
    remaining: hold.remaining,
    resetMs: Math.max(0, Math.ceil((hold.resetAtUs - nowUs) / 1000)),
    retryAfterMs,
    granted: 0,
  };
}

export const slidingWindow: Algorithm<SlidingWindowState, SlidingWindowCheck, WindowRule> = {
  name: 'sliding-window',
  code: 3,
  lua: readLua('sliding-window/sliding-window.lua'),

  scriptParam: (rule) => rule.windowUs,

  check(stored, rule, cost, nowUs) {
    const whole = Math.ceil(cost);
    const state = own(stored);
    if (state !== undefined && isHold(state)) {
      return { retryAfterMs: judgeHold(state, rule, whole, nowUs), state };
    }
    const { capacity, windowUs } = rule;
    const counts = load(state, windowUs, nowUs);
    const [elapsedUs, weighted] = weigh(counts, windowUs, nowUs);
    let retryAfterMs = 0;
    if (whole > capacity) retryAfterMs = -1;
    else if (weighted + whole > capacity + TOLERANCE_TOKENS) {
      const spare = capacity - whole;
      let waitUs =
        counts.current <= spare
          ? // within this window, once the previous count's weight has fallen to spare - current
            windowUs - ((spare - counts.current) * windowUs) / counts.previous - elapsedUs
          : // in the next window, once the current count's weight has fallen to spare
            2 * windowUs - (spare * windowUs) / counts.current - elapsedUs;
      waitUs += Math.max(0, counts.n * windowUs - nowUs);
      retryAfterMs = Math.max(1, Math.ceil(waitUs / 1000));
    }
    return { retryAfterMs, state: counts };
  },

  /** Leasing is refused for windows (options/resolve-limits.ts): `extra` grants nothing. */
  settle(check, rule, cost, write, _extra, nowUs) {
    const counts = check.state;
    if (isHold(counts)) return { result: holdResult(rule, counts, check.retryAfterMs, nowUs) };
    const whole = Math.ceil(cost);
    if (!write || whole <= 0) return { result: resultOf(rule, counts, check.retryAfterMs, nowUs) };
    const next = { ...counts, current: counts.current + whole };
    return {
      result: resultOf(rule, next, check.retryAfterMs, nowUs),
      write: written(next, rule.windowUs, nowUs),
    };
  },

  /**
   * Lowers the current count, then the previous one. A refund cannot tell which window its
   * tokens were taken in: one that arrives after their window stopped counting gives them to
   * the windows that still count.
   */
  refund(stored, rule, tokens, nowUs) {
    const state = own(stored);
    const counts = load(
      state === undefined || isHold(state) ? undefined : state,
      rule.windowUs,
      nowUs,
    );
    if (counts.current + counts.previous === 0) return { result: resultOf(rule, counts, 0, nowUs) };
    const back = Math.ceil(tokens);
    const fromCurrent = Math.min(back, counts.current);
    const next = {
      n: counts.n,
      previous: Math.max(0, counts.previous - (back - fromCurrent)),
      current: counts.current - fromCurrent,
    };
    return { result: resultOf(rule, next, 0, nowUs), write: written(next, rule.windowUs, nowUs) };
  },

  /**
   * The weighted count only falls with time (and grows as others take), so a denial that
   * reported a wait of retryAfterMs (a ceiling, counted from after `atUs`) proves that a
   * request of at least the same cost is denied until retryAfterMs − 1 ms after `atUs`.
   */
  deniedState: (rule, cost, result, atUs) => ({
    cost: Math.ceil(cost),
    capacity: rule.capacity,
    windowUs: rule.windowUs,
    untilUs: atUs + Math.max(0, result.retryAfterMs - 1) * 1000,
    remaining: result.remaining,
    resetAtUs: atUs + Math.max(0, result.resetMs - 1) * 1000,
  }),

  /** Capacity rounds down but stays at least one token; windows stay as they are. */
  share: (rule, instances) => ({
    algorithm: rule.algorithm,
    capacity: Math.max(1, Math.floor(rule.capacity / instances)),
    windowUs: rule.windowUs,
  }),
};
