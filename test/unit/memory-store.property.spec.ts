import fc from 'fast-check';
import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import { queryOf } from '../support/bucket-results.js';
import { FakeClock } from '../support/fake-clock.js';
import { exactUsPerToken, refillArbitrary, resolvedRule } from '../support/refill-arbitraries.js';

/** Where the reference's float and the store's integer debts may round apart. */
const BORDER_TOKENS = 1e-6;

/** The token bucket as it is usually explained: a float of tokens that refills with time. */
class ReferenceBucket {
  private tokens: number;

  constructor(
    private readonly capacity: number,
    private readonly usPerToken: number,
  ) {
    this.tokens = capacity;
  }

  advance(elapsedUs: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + elapsedUs / this.usPerToken);
  }

  wouldAllow(cost: number): boolean {
    return cost <= this.tokens;
  }

  isBorderline(cost: number): boolean {
    return Math.abs(this.tokens - cost) < BORDER_TOKENS;
  }

  take(cost: number): void {
    this.tokens -= cost;
  }
}

const step = fc.record({
  // Either absolute microseconds, or a few tokens' worth of refill, which lands near the edges.
  elapsed: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 5_000_000 }),
    fc.double({ min: 0, max: 3, noNaN: true }).map((tokens) => ({ tokens })),
  ),
  costFraction: fc.double({ min: 0, max: 1.2, noNaN: true }),
  consume: fc.boolean(),
});

const scenario = fc.record({
  capacity: fc.integer({ min: 1, max: 500 }),
  refill: refillArbitrary(
    fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 10_000_000 })),
    1,
    10_000_000,
  ),
  steps: fc.array(step, { minLength: 1, maxLength: 60 }),
});

describe('MemoryRateLimitStore against a reference token bucket (property)', () => {
  it('makes the same decisions as the reference model and never admits more than capacity plus refill', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ capacity, refill, steps }) => {
        // The store and the model judge by the resolved rate (whole µs per token, rounded up);
        // the bound on admissions uses the exact rate, which the rounding may only undercut.
        const rule = resolvedRule(capacity, refill);
        const { usPerToken } = rule;
        const exactUs = exactUsPerToken(refill);
        const clock = new FakeClock();
        const store = new MemoryRateLimitStore(10, clock);
        const reference = new ReferenceBucket(capacity, usPerToken);
        let elapsedUs = 0;
        let admitted = 0;
        try {
          for (const { elapsed, costFraction, consume } of steps) {
            const stepUs =
              typeof elapsed === 'number' ? elapsed : Math.round(elapsed.tokens * usPerToken);
            clock.advanceUs(stepUs);
            reference.advance(stepUs);
            elapsedUs += stepUs;
            const cost = Math.max(1, Math.round(costFraction * capacity));
            const { results } = await store.take(queryOf([{ key: 'k', rule, cost }], consume));
            const allowed = results[0]!.retryAfterMs === 0;
            if (allowed !== reference.wouldAllow(cost) && !reference.isBorderline(cost)) {
              return false;
            }
            if (allowed && consume) {
              reference.take(cost);
              admitted += cost;
            }
            if (admitted > capacity + elapsedUs / exactUs + BORDER_TOKENS) return false;
          }
          return true;
        } finally {
          await store.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
