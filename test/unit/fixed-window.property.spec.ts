import fc from 'fast-check';
import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import { START_US } from '../../lib/algorithms/algorithm.cases.js';
import type { BucketReply } from '../../lib/algorithms/algorithm.cases.js';
import type { WindowRule } from '../../lib/algorithms/algorithm.interface.js';
import { fixedWindow } from '../../lib/algorithms/fixed-window/fixed-window.js';
import { queryOf, replyOf } from '../support/bucket-results.js';
import { FakeClock } from '../support/fake-clock.js';

/**
 * The fixed window as the README states it: windows [n·W, (n + 1)·W) of the clock, each counting
 * whole tokens from zero up to capacity; a count stays with its window (a clock that steps back
 * by up to a window still sees the later one until it ends; a count further ahead is stale).
 */
class ReferenceWindow {
  private window = -Infinity;
  private count = 0;

  constructor(
    private readonly capacity: number,
    private readonly windowUs: number,
  ) {}

  /**
   * The window a request at `nowUs` is counted in, and its count. A window is forgotten once a
   * request comes at or after its end (a store drops it then), even if the clock later steps back.
   */
  private at(nowUs: number): { window: number; count: number } {
    const window = Math.floor(nowUs / this.windowUs);
    if (nowUs >= (this.window + 1) * this.windowUs) this.window = -Infinity;
    // the next window's count (the clock stepped back) counts; one further ahead does not
    return this.window === window || this.window === window + 1
      ? { window: this.window, count: this.count }
      : { window, count: 0 };
  }

  /** Judges a request; a consuming one that passes is counted. Replies as the store does. */
  decide(nowUs: number, cost: number, consume: boolean): BucketReply {
    const { window, count } = this.at(nowUs);
    const whole = Math.ceil(cost);
    const toEndMs = Math.ceil(((window + 1) * this.windowUs - nowUs) / 1000);
    const retryAfterMs = whole > this.capacity ? -1 : count + whole > this.capacity ? toEndMs : 0;
    const after = consume && retryAfterMs === 0 ? count + whole : count;
    if (after !== count) {
      this.window = window;
      this.count = after;
    }
    return [this.capacity - after, after > 0 ? toEndMs : 0, retryAfterMs];
  }

  /** Lowers the count of the window a request would be counted in; an empty one is forgotten. */
  giveBack(nowUs: number, tokens: number): void {
    const { window, count } = this.at(nowUs);
    if (count === 0) return; // nothing counted now: nothing changes
    this.count = Math.max(0, count - Math.ceil(tokens));
    this.window = this.count === 0 ? -Infinity : window;
  }

  /** Tokens counted in the window now counting. */
  get counted(): number {
    return this.count;
  }
}

const step = fc.record({
  elapsedUs: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 2_000_000 }),
    // now and then back in time, as after a failover
    fc.integer({ min: -3_000_000, max: -1 }),
  ),
  cost: fc.oneof(
    fc.constant(1),
    fc.integer({ min: 0, max: 12 }),
    fc.double({ min: 0, max: 4, noNaN: true }),
  ),
  action: fc.constantFrom('consume', 'consume', 'consume', 'peek', 'refund'),
});

describe('MemoryRateLimitStore fixed window against a reference model (property)', () => {
  it('replies exactly as the model and never counts more than capacity in one window', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 3_000 }),
        fc.integer({ min: 0, max: 3_000_000 }),
        fc.array(step, { minLength: 1, maxLength: 80 }),
        async (capacity, windowMs, startUs, steps) => {
          const rule: WindowRule = { algorithm: fixedWindow, capacity, windowUs: windowMs * 1000 };
          const clock = new FakeClock(START_US + startUs);
          const store = new MemoryRateLimitStore(10, clock);
          const model = new ReferenceWindow(capacity, rule.windowUs);
          try {
            for (const { elapsedUs, cost, action } of steps) {
              clock.advanceUs(elapsedUs);
              const nowUs = clock.nowUs();
              const requests = [{ key: 'k', rule, cost }];
              if (action === 'refund') {
                await store.refund(requests);
                model.giveBack(nowUs, cost);
                continue;
              }
              const consume = action === 'consume';
              const expected = model.decide(nowUs, cost, consume);
              const { results } = await store.take(queryOf(requests, consume));
              expect(replyOf(results[0]!)).toEqual(expected);
              expect(model.counted).toBeLessThanOrEqual(capacity);
            }
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
