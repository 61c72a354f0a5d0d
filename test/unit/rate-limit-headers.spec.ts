import {
  policyHeader,
  rateLimitHeader,
  retryAfterSeconds,
} from '../../lib/http/rate-limit-headers.js';
import { resolveLimits } from '../../lib/options/resolve-limits.js';

describe('RateLimit-Policy', () => {
  it('lists q = capacity and w = whole seconds to refill from empty, per limit', () => {
    const limits = resolveLimits(
      [
        { name: 'burst', capacity: 10, refill: 5 },
        { name: 'daily', capacity: 1_000, refill: '1000/day' },
      ],
      'test',
    );
    expect(policyHeader(limits)).toBe('"burst";q=10;w=2, "daily";q=1000;w=86400');
  });

  it('rounds w up', () => {
    const limits = resolveLimits({ capacity: 10, refill: 3 }, 'test');
    expect(policyHeader(limits)).toBe('"default";q=10;w=4');
  });
});

describe('RateLimit', () => {
  it('lists r = remaining and t = seconds until full, rounded up, per limit', () => {
    const limit = { allowed: true, limit: 10, retryAfterMs: 0 };
    expect(
      rateLimitHeader([
        { ...limit, name: 'burst', remaining: 3, resetMs: 1 },
        { ...limit, name: 'daily', remaining: 998, resetMs: 172_001 },
        { ...limit, name: 'idle', remaining: 10, resetMs: 0 },
      ]),
    ).toBe('"burst";r=3;t=1, "daily";r=998;t=173, "idle";r=10;t=0');
  });
});

describe('Retry-After', () => {
  it.each([
    [1, 1],
    [999, 1],
    [1_000, 1],
    [1_001, 2],
    [0, 1],
  ])('is %i ms -> %i s: whole seconds, rounded up, at least 1', (ms, seconds) => {
    expect(retryAfterSeconds(ms)).toBe(seconds);
  });

  it('is absent when the request can never pass', () => {
    expect(retryAfterSeconds(-1)).toBeUndefined();
  });
});
