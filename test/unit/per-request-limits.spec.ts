import { RateLimitConfigError } from 'nest-redis-rate-limit';
import type { LimitOptions } from 'nest-redis-rate-limit';
import { resolveLimitInForce, resolveLimits } from '../../lib/options/resolve-limits.js';
import type { ResolvedLimit } from '../../lib/options/resolved-limit.interface.js';

const WHERE = '@RateLimit on PlansController.search';

function resolveOne(limit: LimitOptions): ResolvedLimit {
  return resolveLimits(limit, WHERE)[0]!;
}

function problemsOf(input: unknown): readonly string[] {
  try {
    resolveLimits(input as LimitOptions, WHERE);
  } catch (error) {
    expect(error).toBeInstanceOf(RateLimitConfigError);
    return (error as RateLimitConfigError).problems;
  }
  throw new Error('expected a RateLimitConfigError');
}

const capacityOf = () => 5;
const refillOf = () => '10/min' as const;

describe('limits whose capacity or refill is a function of the request', () => {
  it('keeps the values as written and marks the limit per-request; a static limit is not', () => {
    const limit = resolveOne({ name: 'tier', capacity: capacityOf, refill: '10/min' });
    expect(limit.perRequest).toEqual({ capacity: capacityOf, refill: '10/min' });
    expect(limit.capacity).toBeNaN();
    expect(resolveOne({ capacity: 5, refill: refillOf }).perRequest).toEqual({
      capacity: 5,
      refill: refillOf,
    });
    expect(resolveOne({ capacity: 5, refill: '10/min' }).perRequest).toBeUndefined();
  });

  it('still checks the static half and every other option when the limit is loaded', () => {
    expect(problemsOf({ capacity: capacityOf, refill: 'ten/min' })).toEqual([
      expect.stringMatching(/^refill must look like '<n>\/<unit>'/) as string,
    ]);
    expect(problemsOf({ capacity: 0, refill: refillOf, cost: -1 })).toEqual([
      'capacity must be a positive integer up to 1000000000 (got 0)',
      "cost of limit 'default' must be a finite number >= 0 (got -1)",
    ]);
  });

  it('leaves a static cost to be judged against the capacity in force (no startup check)', () => {
    expect(resolveOne({ capacity: capacityOf, refill: 1, cost: 50 }).cost).toBe(50);
  });

  describe('resolveLimitInForce', () => {
    const tier = resolveOne({ name: 'tier', capacity: capacityOf, refill: refillOf, cost: 2 });

    it('gives the limit with the values of this request, its rule and policy worked out', () => {
      const inForce = resolveLimitInForce(tier, { capacity: 20, refill: '10/s' });
      expect(inForce).toMatchObject({
        name: 'tier',
        capacity: 20,
        usPerToken: 100_000,
        windowSeconds: 2,
        cost: 2,
        perRequest: undefined,
      });
      expect(Object.isFrozen(inForce)).toBe(true);
    });

    it.each<[string, unknown, unknown, string]>([
      ['capacity 0', 0, '10/s', 'capacity must be a positive integer up to 1000000000 (got 0)'],
      [
        'capacity 2.5',
        2.5,
        '10/s',
        'capacity must be a positive integer up to 1000000000 (got 2.5)',
      ],
      [
        'capacity above 1e9',
        2e9,
        '10/s',
        'capacity must be a positive integer up to 1000000000 (got 2000000000)',
      ],
      ['capacity as a string', '5', '10/s', 'capacity must be a positive integer'],
      ['no capacity', undefined, '10/s', 'capacity must be a positive integer'],
      ['refill unparsable', 5, 'fast', `refill must look like '<n>/<unit>'`],
      ['refill negative', 5, -1, 'refill must be a positive, finite number'],
      ['refill a function', 5, refillOf, 'refill must be a rate (got a function)'],
      ['no refill', 5, undefined, 'refill is required'],
      [
        'a window over 366 days',
        1000,
        '1/day',
        'capacity / refill takes more than 366 days to refill from empty',
      ],
    ])('refuses %s, with the rule a static limit states', (_case, capacity, refill, problem) => {
      const inForce = resolveLimitInForce(tier, { capacity, refill });
      expect('problems' in inForce && inForce.problems.join('\n')).toContain(problem);
    });

    it('gives a window its capacity in force; its window stays as written', () => {
      const hourly = resolveOne({
        algorithm: 'fixed-window',
        capacity: capacityOf,
        windowMs: 3_600_000,
      });
      expect(hourly.perRequest).toEqual({ capacity: capacityOf, refill: undefined });
      expect(resolveLimitInForce(hourly, { capacity: 7, refill: undefined })).toMatchObject({
        capacity: 7,
        windowUs: 3_600_000_000,
        windowSeconds: 3600,
        perRequest: undefined,
      });
      expect(resolveLimitInForce(hourly, { capacity: -1, refill: undefined })).toEqual({
        problems: ['capacity must be a positive integer up to 1000000000 (got -1)'],
      });
    });
  });
});
