import fc from 'fast-check';
import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import { START_US } from '../../lib/algorithms/algorithm.cases.js';
import type { WindowRule } from '../../lib/algorithms/algorithm.interface.js';
import { fixedWindow } from '../../lib/algorithms/fixed-window/fixed-window.js';
import { slidingWindow } from '../../lib/algorithms/sliding-window/sliding-window.js';
import { queryOf } from '../support/bucket-results.js';
import { FakeClock } from '../support/fake-clock.js';

/** Where the store's float weight and the model's exact one may decide apart. */
const BORDER_TOKENS = 1e-5;

/**
 * The weighted two-window counter in exact integer arithmetic (BigInt): a request of `cost` at
 * `elapsed` into window n passes when previous·(W − elapsed) + (current + cost)·W <= capacity·W.
 */
class ReferenceCounter {
  private n = Number.NEGATIVE_INFINITY;
  private current = 0;

  constructor(
    private readonly capacity: number,
    private readonly windowUs: number,
  ) {}

  private countsAt(nowUs: number): { n: number; previous: number; current: number } {
    const n = Math.floor(nowUs / this.windowUs);
    if (this.n === n) return { n, previous: this.previousOfN, current: this.current };
    if (this.n === n - 1) return { n, previous: this.current, current: 0 };
    return { n, previous: 0, current: 0 };
  }

  private previousOfN = 0;

  /** capacity·W − (previous·(W − elapsed) + (current + cost)·W): >= 0 passes. */
  margin(nowUs: number, cost: number): bigint {
    const { n, previous, current } = this.countsAt(nowUs);
    const w = BigInt(this.windowUs);
    const elapsed = BigInt(nowUs - n * this.windowUs);
    return (
      BigInt(this.capacity) * w - (BigInt(previous) * (w - elapsed) + BigInt(current + cost) * w)
    );
  }

  isBorderline(nowUs: number, cost: number): boolean {
    const margin = this.margin(nowUs, cost);
    const span = BigInt(Math.ceil(BORDER_TOKENS * this.windowUs));
    return margin <= span && margin >= -span;
  }

  passes(nowUs: number, cost: number): boolean {
    return cost <= this.capacity && this.margin(nowUs, cost) >= 0n;
  }

  take(nowUs: number, cost: number): void {
    const { n, previous, current } = this.countsAt(nowUs);
    this.n = n;
    this.previousOfN = previous;
    this.current = current + cost;
  }
}

/** The exact sliding log: a request passes when the tokens taken in (t − W, t] leave room. */
class SlidingLog {
  private readonly taken: { atUs: number; cost: number }[] = [];

  constructor(
    private readonly capacity: number,
    private readonly windowUs: number,
  ) {}

  decide(nowUs: number, cost: number): boolean {
    while (this.taken.length > 0 && this.taken[0]!.atUs <= nowUs - this.windowUs)
      this.taken.shift();
    const inWindow = this.taken.reduce((sum, entry) => sum + entry.cost, 0);
    if (inWindow + cost > this.capacity) return false;
    this.taken.push({ atUs: nowUs, cost });
    return true;
  }
}

/** Most tokens admitted in any span (t − W, t], from (time, cost) admissions in time order. */
function peakInAnySpan(admitted: readonly { atUs: number; cost: number }[], windowUs: number) {
  let peak = 0;
  let sum = 0;
  let first = 0;
  for (const entry of admitted) {
    sum += entry.cost;
    while (admitted[first]!.atUs <= entry.atUs - windowUs) sum -= admitted[first++]!.cost;
    peak = Math.max(peak, sum);
  }
  return peak;
}

const step = fc.record({
  elapsedUs: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 200_000 }),
    fc.integer({ min: 1, max: 3_000_000 }),
  ),
  cost: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 12 })),
  consume: fc.boolean(),
});

describe('MemoryRateLimitStore sliding window (property)', () => {
  it('decides as the exact weighted counter, with waits exact to the millisecond, and admits at most capacity per window and 2 × capacity in any span of one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.integer({ min: 0, max: 3_000_000 }),
        fc.array(step, { minLength: 1, maxLength: 100 }),
        async (capacity, windowMs, startUs, steps) => {
          const rule: WindowRule = {
            algorithm: slidingWindow,
            capacity,
            windowUs: windowMs * 1000,
          };
          const clock = new FakeClock(START_US + startUs);
          const store = new MemoryRateLimitStore(10, clock);
          const model = new ReferenceCounter(capacity, rule.windowUs);
          const admitted: { atUs: number; cost: number }[] = [];
          const perWindow = new Map<number, number>();
          try {
            for (const { elapsedUs, cost, consume } of steps) {
              clock.advanceUs(elapsedUs);
              const nowUs = clock.nowUs();
              const { results } = await store.take(queryOf([{ key: 'k', rule, cost }], consume));
              const { retryAfterMs } = results[0]!;
              const allowed = retryAfterMs === 0;
              if (!model.isBorderline(nowUs, cost)) {
                expect(allowed).toBe(model.passes(nowUs, cost));
                if (retryAfterMs > 0) {
                  // the wait is the first whole millisecond at which the request would pass
                  const at = (ms: number): number => nowUs + ms * 1000;
                  if (!model.isBorderline(at(retryAfterMs), cost)) {
                    expect(model.passes(at(retryAfterMs), cost)).toBe(true);
                  }
                  if (retryAfterMs > 1 && !model.isBorderline(at(retryAfterMs - 1), cost)) {
                    expect(model.passes(at(retryAfterMs - 1), cost)).toBe(false);
                  }
                }
              }
              if (allowed && consume && cost > 0) {
                model.take(nowUs, cost);
                admitted.push({ atUs: nowUs, cost });
                const n = Math.floor(nowUs / rule.windowUs);
                perWindow.set(n, (perWindow.get(n) ?? 0) + cost);
              }
            }
            for (const count of perWindow.values()) expect(count).toBeLessThanOrEqual(capacity);
            expect(peakInAnySpan(admitted, rule.windowUs)).toBeLessThanOrEqual(2 * capacity);
            return true;
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** A seeded generator (mulberry32), so the measured numbers are the same on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Measure {
  readonly requests: number;
  /**
   * Requests admitted although what had been admitted in the last window already held capacity:
   * those an exact sliding log, given the same history, would have denied.
   */
  readonly overAdmitted: number;
  /** Most admitted in any span of one window, over capacity (an exact log: at most 1). */
  readonly peak: number;
  /** Admitted in all, over what an exact sliding log judging the same arrivals admits. */
  readonly throughput: number;
}

const CAPACITY = 100;
const WINDOW_US = 60_000_000;

/**
 * Judges arrivals (µs, in order, cost 1) by the memory store under `algorithm` and by an exact
 * sliding log.
 */
async function measure(
  algorithm: WindowRule['algorithm'],
  arrivalsUs: readonly number[],
): Promise<Measure> {
  const rule: WindowRule = { algorithm, capacity: CAPACITY, windowUs: WINDOW_US };
  const clock = new FakeClock(START_US);
  const store = new MemoryRateLimitStore(10, clock);
  const log = new SlidingLog(CAPACITY, WINDOW_US);
  const admitted: { atUs: number; cost: number }[] = [];
  let logAdmitted = 0;
  let overAdmitted = 0;
  let first = 0;
  for (const atUs of arrivalsUs) {
    clock.advanceUs(START_US + atUs - clock.nowUs());
    const { results } = await store.take(queryOf([{ key: 'k', rule, cost: 1 }], true));
    while (first < admitted.length && admitted[first]!.atUs <= atUs - WINDOW_US) first++;
    if (results[0]!.retryAfterMs === 0) {
      if (admitted.length - first + 1 > CAPACITY) overAdmitted++;
      admitted.push({ atUs, cost: 1 });
    }
    if (log.decide(START_US + atUs, 1)) logAdmitted++;
  }
  await store.close();
  return {
    requests: arrivalsUs.length,
    overAdmitted,
    peak: peakInAnySpan(admitted, WINDOW_US) / CAPACITY,
    throughput: admitted.length / logAdmitted,
  };
}

/** Poisson arrivals at `load` × capacity per window, over `windows` windows. */
function poisson(seed: number, load: number, windows: number): number[] {
  const next = random(seed);
  const meanGapUs = WINDOW_US / (load * CAPACITY);
  const arrivals: number[] = [];
  for (let t = 0; t < windows * WINDOW_US;) {
    t += Math.max(1, Math.round(-Math.log(1 - next()) * meanGapUs));
    arrivals.push(t);
  }
  return arrivals;
}

/** Bursts of 10 to 200 requests, 1 ms apart, at random instants. */
function bursts(seed: number, windows: number): number[] {
  const next = random(seed);
  const arrivals: number[] = [];
  for (let t = 0; t < windows * WINDOW_US; t += Math.round(next() * 2 * WINDOW_US)) {
    const size = 10 + Math.floor(next() * 190);
    for (let i = 0; i < size; i++) arrivals.push(t + i * 1_000);
  }
  return arrivals.sort((a, b) => a - b);
}

/**
 * The worst case: a quiet window that ends with a flood, then a request every 10 ms through the
 * next window, which the counter admits as the flood's weight fades.
 */
function boundaryFloods(windows: number): number[] {
  const arrivals: number[] = [];
  for (let w = 0; w + 1 < windows; w += 3) {
    const end = (w + 1) * WINDOW_US;
    for (let i = 0; i < CAPACITY; i++) arrivals.push(end - 1_000 + i);
    for (let t = end; t < end + WINDOW_US; t += 10_000) arrivals.push(t);
  }
  return arrivals;
}

describe('sliding window against an exact sliding log (measured)', () => {
  const profiles: [string, () => number[]][] = [
    ['Poisson, 0.9 × capacity per window', () => poisson(1, 0.9, 60)],
    ['Poisson, 1.5 × capacity per window', () => poisson(2, 1.5, 60)],
    ['Poisson, 4 × capacity per window', () => poisson(3, 4, 60)],
    ['random bursts of 10-200', () => bursts(4, 200)],
    ['a flood at the end of a quiet window, then steady', () => boundaryFloods(30)],
  ];
  const lines: string[] = [];

  afterAll(() => {
    // The README's table ("Choosing an algorithm") quotes these lines.
    process.stdout.write(
      `\nwindows of capacity ${CAPACITY} per 60 s against an exact sliding log (% of requests admitted over the exact limit, most admitted in any span of one window / capacity, admitted in all / the log's):\n${lines.join('\n')}\n`,
    );
  });

  it.each(profiles)(
    '%s: the sliding window admits less than 2 × capacity in any span of one window, and peaks no higher than the fixed window',
    async (name, arrivals) => {
      const sliding = await measure(slidingWindow, arrivals());
      const fixed = await measure(fixedWindow, arrivals());
      const of = (result: Measure): string =>
        `${((100 * result.overAdmitted) / result.requests).toFixed(2)}% over, peak ${result.peak.toFixed(2)}, ${result.throughput.toFixed(2)} × log`;
      lines.push(
        `  ${name} (${sliding.requests} requests): sliding ${of(sliding)}; fixed ${of(fixed)}`,
      );
      expect(sliding.peak).toBeLessThan(2);
      expect(fixed.peak).toBeLessThanOrEqual(2);
      // the point of the weights: never a higher peak than the fixed window on the same traffic
      expect(sliding.peak).toBeLessThanOrEqual(fixed.peak);
    },
  );
});
