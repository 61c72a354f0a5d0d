import { RateLimitConfigError } from 'nest-redis-rate-limit';
import type { LimitOptions } from 'nest-redis-rate-limit';
import { resolveLimits } from '../../lib/options/resolve-limits.js';

const WHERE = '@RateLimit on CatsController.create';

function problemsOf(input: unknown): readonly string[] {
  try {
    resolveLimits(input as LimitOptions, WHERE);
  } catch (error) {
    expect(error).toBeInstanceOf(RateLimitConfigError);
    return (error as RateLimitConfigError).problems;
  }
  throw new Error('expected a RateLimitConfigError');
}

describe('resolveLimits', () => {
  it('resolves a limit with its defaults', () => {
    const [limit] = resolveLimits({ capacity: 10, refill: '10/min' }, WHERE);
    expect(limit).toMatchObject({
      name: 'default',
      capacity: 10,
      usPerToken: 6_000_000,
      windowSeconds: 60,
      cost: 1,
      scope: undefined,
      failureStrategy: undefined,
      identity: undefined,
    });
  });

  it('rounds the refill window up to whole seconds', () => {
    const [limit] = resolveLimits({ capacity: 3, refill: 2 }, WHERE);
    expect(limit!.windowSeconds).toBe(2);
  });

  it.each<[string, LimitOptions, number, number]>([
    ["'3/s', capacity 3", { capacity: 3, refill: '3/s' }, 333_334, 1],
    [
      '{ tokens: 3, intervalMs: 1000 }, capacity 6',
      { capacity: 6, refill: { tokens: 3, intervalMs: 1_000 } },
      333_334,
      2,
    ],
    ["'7/min', capacity 7", { capacity: 7, refill: '7/min' }, 8_571_429, 60],
    ['3 tokens per second, capacity 3', { capacity: 3, refill: 3 }, 333_334, 1],
  ])(
    'keeps a fractional rate (%s) in whole microseconds per token, rounded up, and its window from the exact rate',
    (_case, input, usPerToken, windowSeconds) => {
      const [limit] = resolveLimits(input, WHERE);
      expect(limit).toMatchObject({ usPerToken, windowSeconds });
    },
  );

  it('keeps a rate whose token time is whole microseconds exact', () => {
    const [limit] = resolveLimits({ capacity: 4, refill: '4/s' }, WHERE);
    expect(limit).toMatchObject({ usPerToken: 250_000, windowSeconds: 1 });
  });

  it('keeps the order of several limits and resolves keyBy to a function', () => {
    const limits = resolveLimits(
      [
        { name: 'burst', capacity: 5, refill: 5, keyBy: 'user' },
        { name: 'daily', capacity: 1_000, refill: '1000/day', failureStrategy: 'closed' },
      ],
      WHERE,
    );
    expect(limits.map((limit) => limit.name)).toEqual(['burst', 'daily']);
    expect(typeof limits[0]!.identity).toBe('function');
    expect(limits[1]!.failureStrategy).toBe('closed');
  });

  it.each<[string, unknown, string]>([
    ['capacity 0', { capacity: 0, refill: 1 }, 'capacity must be a positive integer'],
    ['capacity 1.5', { capacity: 1.5, refill: 1 }, 'capacity must be a positive integer'],
    ['capacity as a string', { capacity: '10', refill: 1 }, 'capacity must be a positive integer'],
    ['capacity too large', { capacity: 2e9, refill: 1e6 }, 'capacity must be a positive integer'],
    ['no refill', { capacity: 1 }, 'refill is required'],
    ['refill 0', { capacity: 1, refill: 0 }, 'refill must be a positive, finite number'],
    [
      'unparsable refill',
      { capacity: 1, refill: '1/fortnight' },
      "refill must look like '<n>/<unit>'",
    ],
    ['refill too fast', { capacity: 1, refill: 2e6 }, 'refill must be at most 1,000,000 tokens'],
    ['a window over 366 days', { capacity: 400, refill: '1/day' }, 'more than 366 days'],
    [
      'negative cost',
      { capacity: 5, refill: 1, cost: -1 },
      "cost of limit 'default' must be a finite number >= 0 (got -1)",
    ],
    [
      'NaN cost',
      { capacity: 5, refill: 1, cost: Number.NaN },
      "cost of limit 'default' must be a finite number >= 0 (got NaN)",
    ],
    [
      'infinite cost',
      { name: 'upload', capacity: 5, refill: 1, cost: Infinity },
      "cost of limit 'upload' must be a finite number >= 0 (got Infinity)",
    ],
    [
      'cost above capacity',
      { name: 'upload', capacity: 5, refill: 1, cost: 6 },
      "cost of limit 'upload' must not exceed capacity 5, or no request could ever pass (got 6)",
    ],
    [
      'an absurd cost',
      { capacity: 5, refill: 1, cost: 1e300 },
      "cost of limit 'default' must not exceed capacity 5, or no request could ever pass (got 1e+300)",
    ],
    [
      'cost as a string',
      { capacity: 5, refill: 1, cost: '1' },
      'cost of limit \'default\' must be a number or a function of the request (got "1")',
    ],
    [
      'cost as an object',
      { capacity: 5, refill: 1, cost: { tokens: 2 } },
      'cost of limit \'default\' must be a number or a function of the request (got {"tokens":2})',
    ],
    ['bad name', { name: 'a b', capacity: 1, refill: 1 }, 'name must be 1-64 characters'],
    [
      'braces in scope',
      { scope: 'a{b}', capacity: 1, refill: 1 },
      'scope must be 1-128 characters',
    ],
    [
      'bad failureStrategy',
      { capacity: 1, refill: 1, failureStrategy: 'maybe' },
      "failureStrategy must be 'open', 'closed' or 'local'",
    ],
    [
      'bad keyBy',
      { capacity: 1, refill: 1, keyBy: 'cookie' },
      "keyBy must be 'ip', 'user', 'apiKey' or a function",
    ],
    ['bad when', { capacity: 1, refill: 1, when: true }, 'when must be a function'],
    ['not an object', 5, 'must be an object with capacity and refill'],
  ])('rejects %s', (_case, input, message) => {
    expect(problemsOf(input)).toEqual([expect.stringContaining(message)]);
  });

  it('rejects an empty list', () => {
    expect(problemsOf([])).toEqual(['at least one limit is required']);
  });

  it('rejects duplicate names', () => {
    expect(
      problemsOf([
        { capacity: 1, refill: 1 },
        { capacity: 2, refill: 1 },
      ]),
    ).toEqual(["[1].name 'default' is used by two limits; names must be unique"]);
  });

  it('names where the limit was found and lists every problem, with its path, one per line', () => {
    const input = [
      { name: 'burst', capacity: 0, refill: 'soon' },
      { name: 'daily', capacity: 10, refill: 1, cost: -2 },
    ];
    expect(() => resolveLimits(input as LimitOptions[], WHERE)).toThrow(
      new RateLimitConfigError(WHERE, [
        '[0].capacity must be a positive integer up to 1000000000 (got 0)',
        `[0].refill must look like '<n>/<unit>' with n > 0 and unit one of s|sec|second|m|min|minute|h|hour|d|day (got "soon")`,
        "[1].cost of limit 'daily' must be a finite number >= 0 (got -2)",
      ]),
    );
    try {
      resolveLimits(input as LimitOptions[], WHERE);
    } catch (error) {
      const { message } = error as Error;
      expect(message.startsWith(`${WHERE}:\n  - [0].capacity`)).toBe(true);
      expect(message.split('\n')).toHaveLength(4);
    }
  });
});
