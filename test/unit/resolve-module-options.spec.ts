import type { Redis } from 'ioredis';
import { RateLimitConfigError, type RateLimitModuleOptions } from 'nest-redis-rate-limit';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';

function problemsOf(options: unknown): readonly string[] {
  try {
    resolveModuleOptions(options as RateLimitModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(RateLimitConfigError);
    expect((error as RateLimitConfigError).where).toBe('RateLimitModule options');
    return (error as RateLimitConfigError).problems;
  }
  throw new Error('expected a RateLimitConfigError');
}

describe('resolveModuleOptions', () => {
  it('applies the defaults when options are omitted', () => {
    expect(resolveModuleOptions()).toMatchObject({
      redis: undefined,
      keyPrefix: 'rl:',
      failureStrategy: 'open',
      timeoutMs: 100,
      defaultLimits: undefined,
      headers: 'draft-10',
      ipv6Subnet: 64,
      memoryStoreMaxKeys: 100_000,
    });
    expect(typeof resolveModuleOptions().identity).toBe('function');
  });

  it('keeps falsy values that are valid instead of replacing them with defaults', () => {
    expect(resolveModuleOptions({ keyPrefix: '', headers: false })).toMatchObject({
      keyPrefix: '',
      headers: false,
    });
  });

  it.each([
    [true, 'draft-10'],
    ['draft-10', 'draft-10'],
    ['legacy', 'legacy'],
    ['both', 'both'],
    [false, false],
  ] as const)('resolves headers %p to %p', (headers, resolved) => {
    expect(resolveModuleOptions({ headers }).headers).toBe(resolved);
  });

  it('resolves defaultLimit', () => {
    const { defaultLimits } = resolveModuleOptions({
      defaultLimit: { capacity: 60, refill: '60/min' },
    });
    expect(defaultLimits).toEqual([expect.objectContaining({ capacity: 60, usPerToken: 1e6 })]);
  });

  it('accepts a redis URL, ioredis options and a client-like object', () => {
    expect(resolveModuleOptions({ redis: 'redis://127.0.0.1:6379' }).redis).toEqual({
      kind: 'url',
      url: 'redis://127.0.0.1:6379',
    });
    expect(resolveModuleOptions({ redis: { port: 6380 } }).redis).toEqual({
      kind: 'options',
      options: { port: 6380 },
    });
    const client = { defineCommand: () => undefined, status: 'wait' };
    const { redis } = resolveModuleOptions({ redis: client as unknown as Redis });
    expect(redis).toEqual({ kind: 'client', client });
    // the user's own client, never a copy
    expect(redis?.kind === 'client' && redis.client).toBe(client);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'a URL without a scheme',
      { redis: 'localhost:6379' },
      'redis must be a redis:// or rediss:// URL',
    ],
    [
      'redis as a number',
      { redis: 6379 },
      'redis must be a URL, ioredis options or an ioredis client (got 6379)',
    ],
    ['a keyPrefix with braces', { keyPrefix: 'a{b}' }, 'keyPrefix must be 0-64 characters'],
    [
      'an unknown failureStrategy',
      { failureStrategy: 'fail' },
      `failureStrategy must be 'open', 'closed' or 'local' (got "fail")`,
    ],
    ['timeoutMs 0', { timeoutMs: 0 }, 'timeoutMs must be a positive integer (got 0)'],
    ['fractional timeoutMs', { timeoutMs: 1.5 }, 'timeoutMs must be a positive integer (got 1.5)'],
    [
      'an unknown keyBy',
      { keyBy: 'cookie' },
      `keyBy must be 'ip', 'user', 'apiKey' or a function (got "cookie")`,
    ],
    [
      'headers as an unknown mode',
      { headers: 'yes' },
      `headers must be true, false, 'draft-10', 'legacy' or 'both' (got "yes")`,
    ],
    [
      'an exceptionFactory that is not a function',
      { exceptionFactory: {} },
      'exceptionFactory must be a function (decision, context) => Error (got {})',
    ],
    [
      'ipv6Subnet 129',
      { ipv6Subnet: 129 },
      'ipv6Subnet must be an integer from 1 to 128 (got 129)',
    ],
    [
      'memoryStoreMaxKeys 0',
      { memoryStoreMaxKeys: 0 },
      'memoryStoreMaxKeys must be a positive integer (got 0)',
    ],
    [
      'a bad defaultLimit',
      { defaultLimit: { capacity: 0, refill: 1 } },
      'defaultLimit: capacity must be a positive integer',
    ],
  ])('rejects %s', (_case, options, message) => {
    const problems = problemsOf(options);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it('lists every problem at once', () => {
    expect(problemsOf({ timeoutMs: -1, failureStrategy: 'x', headers: 1 })).toEqual([
      `failureStrategy must be 'open', 'closed' or 'local' (got "x")`,
      'timeoutMs must be a positive integer (got -1)',
      `headers must be true, false, 'draft-10', 'legacy' or 'both' (got 1)`,
    ]);
  });
});
