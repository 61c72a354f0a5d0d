import fc from 'fast-check';
import type { TokenBucketRule } from '../../lib/algorithms/algorithm.interface.js';
import type { Refill } from '../../lib/options/limit-options.interface.js';
import { parseRefill } from '../../lib/options/parse-refill.js';
import { resolveLimits } from '../../lib/options/resolve-limits.js';

/** The exact time one token of `refill` takes to return, in µs, before any rounding. */
export function exactUsPerToken(refill: Refill): number {
  const parsed = parseRefill(refill);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.usPerToken;
}

/**
 * The rule a limit of `capacity` and `refill` resolves to: resolveLimits keeps rates in whole
 * microseconds per token, rounded up.
 */
export function resolvedRule(capacity: number, refill: Refill): TokenBucketRule {
  const [limit] = resolveLimits({ capacity, refill }, 'property test');
  if (limit === undefined || !('usPerToken' in limit)) throw new Error('not a token bucket');
  return { algorithm: limit.algorithm, capacity: limit.capacity, usPerToken: limit.usPerToken };
}

/**
 * Refills in every form a limit accepts, half of them with a whole number of µs per token drawn
 * from `wholeUs` (one token every `us` µs), half fractional (a token time that is not whole µs:
 * '3/s', '7/min', { tokens: 3, intervalMs: 1000 } and random ones), from `minUs` to `maxUs`.
 */
export function refillArbitrary(
  wholeUs: fc.Arbitrary<number>,
  minUs: number,
  maxUs: number,
): fc.Arbitrary<Refill> {
  const whole = wholeUs.map((us): Refill => ({ tokens: 1_000, intervalMs: us }));
  const fractional = fc
    .oneof(
      fc.constantFrom<Refill>('3/s', '7/min', { tokens: 3, intervalMs: 1_000 }),
      fc.record({
        tokens: fc.integer({ min: 1, max: 1_000 }),
        intervalMs: fc.integer({ min: 1, max: 100_000 }),
      }),
      // tokens per second, 0.1 to 1000
      fc.integer({ min: 1, max: 10_000 }).map((tenths) => tenths / 10),
      fc
        .tuple(fc.integer({ min: 1, max: 1_000 }), fc.constantFrom('s', 'min'))
        .map(([tokens, unit]) => `${tokens}/${unit}` as Refill),
    )
    .filter((refill) => {
      const us = exactUsPerToken(refill);
      return !Number.isInteger(us) && us >= minUs && us <= maxUs;
    });
  return fc.oneof(whole, fractional);
}
