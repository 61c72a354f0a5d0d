import { RateLimitConfigError } from 'nest-redis-rate-limit';
import type { LimitOptions } from 'nest-redis-rate-limit';
import { fixedWindow } from '../../lib/algorithms/fixed-window/fixed-window.js';
import { slidingWindow } from '../../lib/algorithms/sliding-window/sliding-window.js';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import { resolveLimits } from '../../lib/options/resolve-limits.js';

const WHERE = '@RateLimit on CatsController.create';

function errorOf(input: unknown): RateLimitConfigError {
  try {
    resolveLimits(input as LimitOptions, WHERE);
  } catch (error) {
    expect(error).toBeInstanceOf(RateLimitConfigError);
    return error as RateLimitConfigError;
  }
  throw new Error('expected a RateLimitConfigError');
}

describe('resolveLimits: algorithms', () => {
  it('resolves a fixed window to its capacity and window, w in whole seconds', () => {
    const [limit] = resolveLimits(
      { algorithm: 'fixed-window', capacity: 100, windowMs: 3_600_000 },
      WHERE,
    );
    expect(limit).toMatchObject({ capacity: 100, windowUs: 3_600_000_000, windowSeconds: 3600 });
    expect(limit!.algorithm).toBe(fixedWindow);
    expect(limit).not.toHaveProperty('usPerToken');
  });

  it('resolves a sliding window, rounding a window of 1.5 s to w = 2', () => {
    const [limit] = resolveLimits(
      { algorithm: 'sliding-window', capacity: 3, windowMs: 1_500, name: 'short' },
      WHERE,
    );
    expect(limit).toMatchObject({ name: 'short', windowUs: 1_500_000, windowSeconds: 2 });
    expect(limit!.algorithm).toBe(slidingWindow);
  });

  it("keeps 'token-bucket' the default, and accepts it by name", () => {
    const [implicit, named] = resolveLimits(
      [
        { name: 'a', capacity: 10, refill: '10/min' },
        { name: 'b', algorithm: 'token-bucket', capacity: 10, refill: '10/min' },
      ],
      WHERE,
    );
    expect(implicit!.algorithm).toBe(tokenBucket);
    expect(named).toMatchObject({ algorithm: tokenBucket, usPerToken: 6_000_000 });
  });

  it('resolves one route mixing the three algorithms, in order', () => {
    const limits = resolveLimits(
      [
        { name: 'burst', capacity: 10, refill: '10/s' },
        { name: 'minute', algorithm: 'fixed-window', capacity: 100, windowMs: 60_000 },
        { name: 'hour', algorithm: 'sliding-window', capacity: 1_000, windowMs: 3_600_000 },
      ],
      WHERE,
    );
    expect(limits.map((limit) => limit.algorithm)).toEqual([
      tokenBucket,
      fixedWindow,
      slidingWindow,
    ]);
  });

  it.each<[string, unknown, string]>([
    [
      'a window without windowMs',
      { name: 'hourly', algorithm: 'fixed-window', capacity: 100 },
      "windowMs of fixed-window limit 'hourly' is required: the window, in whole milliseconds (got undefined)",
    ],
    [
      'a window of 0 ms',
      { name: 'hourly', algorithm: 'sliding-window', capacity: 100, windowMs: 0 },
      "windowMs of sliding-window limit 'hourly' must be a whole number of milliseconds from 1 to 366 days (got 0)",
    ],
    [
      'a window of 1.5 ms',
      { name: 'hourly', algorithm: 'fixed-window', capacity: 100, windowMs: 1.5 },
      "windowMs of fixed-window limit 'hourly' must be a whole number of milliseconds",
    ],
    [
      'a window over 366 days',
      { algorithm: 'fixed-window', capacity: 100, windowMs: 367 * 86_400_000 },
      "windowMs of fixed-window limit 'default' must be a whole number of milliseconds",
    ],
    [
      'a window with a refill',
      { name: 'hourly', algorithm: 'fixed-window', capacity: 100, windowMs: 1_000, refill: 1 },
      "refill of fixed-window limit 'hourly' is for token buckets: a window takes capacity and windowMs (got 1)",
    ],
    [
      'a leased window',
      {
        name: 'hourly',
        algorithm: 'sliding-window',
        capacity: 100,
        windowMs: 1_000,
        lease: { tokens: 5 },
      },
      "lease of sliding-window limit 'hourly' is for token buckets",
    ],
    [
      'a fractional cost on a window',
      { name: 'hourly', algorithm: 'fixed-window', capacity: 100, windowMs: 1_000, cost: 0.5 },
      "cost of fixed-window limit 'hourly' must be a whole number: windows count whole tokens (got 0.5)",
    ],
    [
      'a token bucket with windowMs',
      { name: 'burst', capacity: 10, refill: 1, windowMs: 1_000 },
      "windowMs of token-bucket limit 'burst' is for windows",
    ],
    [
      'an unknown algorithm',
      { name: 'burst', algorithm: 'leaky-bucket', capacity: 10, windowMs: 1_000 },
      "algorithm of limit 'burst' must be 'token-bucket', 'fixed-window' or 'sliding-window' (got \"leaky-bucket\")",
    ],
  ])('refuses %s, naming the limit', (_case, input, problem) => {
    const error = errorOf(input);
    expect(error.message).toContain(WHERE);
    expect(error.problems.some((line) => line.includes(problem))).toBe(true);
  });

  it('a window with a refill and no windowMs names both problems, with their paths', () => {
    const error = errorOf([
      { name: 'burst', capacity: 10, refill: 1 },
      { name: 'hourly', algorithm: 'fixed-window', capacity: 100, refill: '100/h' },
    ]);
    expect(error.problems).toEqual([
      "[1].windowMs of fixed-window limit 'hourly' is required: the window, in whole milliseconds (got undefined)",
      '[1].refill of fixed-window limit \'hourly\' is for token buckets: a window takes capacity and windowMs (got "100/h")',
    ]);
  });

  it('accepts a cost function on a window (a fractional result counts as its ceiling)', () => {
    const cost = (): number => 0.5;
    const [limit] = resolveLimits(
      { algorithm: 'fixed-window', capacity: 10, windowMs: 1_000, cost },
      WHERE,
    );
    expect(limit!.cost).toBe(cost);
  });
});
