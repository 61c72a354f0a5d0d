import { RateLimitStoreError } from 'nest-redis-rate-limit';
import { buildDecision, failureDecision } from '../../lib/decision/build-decision.js';

const rules = (...capacities: number[]) =>
  capacities.map((capacity) => ({ capacity, usPerToken: 1_000_000 }));

describe('buildDecision', () => {
  it('allowed: the headline is the limit with the fewest tokens left', () => {
    const decision = buildDecision(
      ['burst', 'daily'],
      rules(10, 1_000),
      [3, 7_000, 0, 998, 2_000, 0],
    );
    expect(decision).toEqual({
      allowed: true,
      limit: 10,
      remaining: 3,
      resetMs: 7_000,
      retryAfterMs: 0,
      limits: [
        { name: 'burst', allowed: true, limit: 10, remaining: 3, resetMs: 7_000, retryAfterMs: 0 },
        {
          name: 'daily',
          allowed: true,
          limit: 1_000,
          remaining: 998,
          resetMs: 2_000,
          retryAfterMs: 0,
        },
      ],
    });
  });

  it('allowed with equal tokens left: the headline is the one full again last', () => {
    const decision = buildDecision(['a', 'b'], rules(5, 5), [2, 1_000, 0, 2, 9_000, 0]);
    expect(decision.resetMs).toBe(9_000);
  });

  it('denied: retryAfterMs is the longest wait among the denying limits', () => {
    const decision = buildDecision(
      ['a', 'b', 'c'],
      rules(1, 1, 50),
      [0, 1_000, 1_000, 0, 60_000, 60_000, 40, 10_000, 0],
    );
    expect(decision).toMatchObject({
      allowed: false,
      limit: 1,
      retryAfterMs: 60_000,
      resetMs: 60_000,
    });
    expect(decision.limits.map((limit) => limit.allowed)).toEqual([false, false, true]);
  });

  it('denied: a limit that can never pass (-1) wins the headline', () => {
    const decision = buildDecision(['a', 'b'], rules(1, 2), [0, 1_000, 900_000, 2, 0, -1]);
    expect(decision).toMatchObject({ allowed: false, limit: 2, retryAfterMs: -1 });
  });

  it('denied: a passing limit with fewer tokens never becomes the headline', () => {
    const decision = buildDecision(['roomy', 'empty'], rules(1, 9), [0, 0, 0, 5, 1_000, 500]);
    expect(decision).toMatchObject({ allowed: false, limit: 9, remaining: 5, retryAfterMs: 500 });
  });
});

describe('failureDecision', () => {
  const error = new RateLimitStoreError('timeout', 'slow');

  it("'open' allows, with full buckets and the error attached", () => {
    expect(failureDecision(['a', 'b'], rules(3, 7), 'open', error)).toEqual({
      allowed: true,
      limit: 3,
      remaining: 3,
      resetMs: 0,
      retryAfterMs: 0,
      storeError: error,
      failureStrategy: 'open',
      limits: [
        { name: 'a', allowed: true, limit: 3, remaining: 3, resetMs: 0, retryAfterMs: 0 },
        { name: 'b', allowed: true, limit: 7, remaining: 7, resetMs: 0, retryAfterMs: 0 },
      ],
    });
  });

  it("'closed' denies and asks to retry after 1 s", () => {
    expect(failureDecision(['a'], rules(3), 'closed', error)).toMatchObject({
      allowed: false,
      remaining: 0,
      retryAfterMs: 1_000,
      storeError: error,
      failureStrategy: 'closed',
    });
  });
});
