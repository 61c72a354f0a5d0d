import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { RateLimitStoreError } from 'nest-redis-rate-limit';
import type { BucketRequest } from '../../lib/algorithms/algorithm.interface.js';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import { buildDecision } from '../../lib/decision/build-decision.js';
import type { FailureStrategy } from '../../lib/options/limit-options.interface.js';
import type { DecisionLayer, Take } from '../../lib/pipeline/decision-layer.interface.js';
import { FailureStrategyLayer } from '../../lib/pipeline/failure-strategy.layer.js';
import { type BucketReply, resultOf } from '../support/bucket-results.js';

/** A store's take: the buckets' capacities and their [remaining, resetMs, retryAfterMs]. */
const take = (capacities: readonly number[], replies: readonly BucketReply[]): Take => ({
  results: replies.map((reply, i) => resultOf(reply, capacities[i]!)),
  source: 'redis',
});

describe('buildDecision', () => {
  it('allowed: the headline is the limit with the fewest tokens left', () => {
    const decision = buildDecision(
      ['burst', 'daily'],
      take(
        [10, 1_000],
        [
          [3, 7_000, 0],
          [998, 2_000, 0],
        ],
      ),
    );
    expect(decision).toEqual({
      allowed: true,
      limit: 10,
      remaining: 3,
      resetMs: 7_000,
      retryAfterMs: 0,
      source: 'redis',
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
    const decision = buildDecision(
      ['a', 'b'],
      take(
        [5, 5],
        [
          [2, 1_000, 0],
          [2, 9_000, 0],
        ],
      ),
    );
    expect(decision.resetMs).toBe(9_000);
  });

  it('denied: retryAfterMs is the longest wait among the denying limits', () => {
    const decision = buildDecision(
      ['a', 'b', 'c'],
      take(
        [1, 1, 50],
        [
          [0, 1_000, 1_000],
          [0, 60_000, 60_000],
          [40, 10_000, 0],
        ],
      ),
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
    const decision = buildDecision(
      ['a', 'b'],
      take(
        [1, 2],
        [
          [0, 1_000, 900_000],
          [2, 0, -1],
        ],
      ),
    );
    expect(decision).toMatchObject({ allowed: false, limit: 2, retryAfterMs: -1 });
  });

  it('denied: a passing limit with fewer tokens never becomes the headline', () => {
    const decision = buildDecision(
      ['roomy', 'empty'],
      take(
        [1, 9],
        [
          [0, 0, 0],
          [5, 1_000, 500],
        ],
      ),
    );
    expect(decision).toMatchObject({ allowed: false, limit: 9, remaining: 5, retryAfterMs: 500 });
  });

  it('carries the source of the take', () => {
    expect(buildDecision(['a'], { ...take([1], [[0, 5, 5]]), source: 'deny-cache' })).toMatchObject(
      { allowed: false, source: 'deny-cache' },
    );
  });
});

/** A store that fails every call with `error`. */
function failingStore(error: Error): DecisionLayer {
  return {
    description: 'fake',
    take: () => Promise.reject(error),
    refund: () => Promise.reject(error),
    reset: () => Promise.reject(error),
    resetIdentity: () => Promise.reject(error),
    close: () => Promise.resolve(),
  };
}

/** The decision of the failure strategy when the store fails with `error`. */
async function failureDecision(
  names: readonly string[],
  capacities: readonly number[],
  strategy: FailureStrategy,
  error: Error,
) {
  const layer = new FailureStrategyLayer(failingStore(error), {
    keyPrefix: 'rl:',
    instances: 1,
    memoryStoreMaxKeys: 10,
  });
  const requests: BucketRequest[] = capacities.map((capacity, i) => ({
    key: `rl:s:${names[i]}:{id}`,
    rule: { algorithm: tokenBucket, capacity, usPerToken: 1_000_000 },
    cost: 1,
  }));
  try {
    return buildDecision(
      names,
      await layer.take({ requests, mode: 'consume', failureStrategy: strategy }),
    );
  } finally {
    await layer.close();
  }
}

describe('decisions of the failure strategy (FailureStrategyLayer, then buildDecision)', () => {
  const error = new RateLimitStoreError('timeout', 'slow');
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it("'open' allows, with full buckets and the error attached", async () => {
    expect(await failureDecision(['a', 'b'], [3, 7], 'open', error)).toEqual({
      allowed: true,
      limit: 3,
      remaining: 3,
      resetMs: 0,
      retryAfterMs: 0,
      source: 'fail-open',
      storeError: error,
      failureStrategy: 'open',
      limits: [
        { name: 'a', allowed: true, limit: 3, remaining: 3, resetMs: 0, retryAfterMs: 0 },
        { name: 'b', allowed: true, limit: 7, remaining: 7, resetMs: 0, retryAfterMs: 0 },
      ],
    });
  });

  it("'closed' denies and asks to retry after 1 s", async () => {
    expect(await failureDecision(['a'], [3], 'closed', error)).toMatchObject({
      allowed: false,
      remaining: 0,
      retryAfterMs: 1_000,
      source: 'fail-closed',
      storeError: error,
      failureStrategy: 'closed',
    });
  });

  it("'local' judges the request in this process's memory and attaches the error", async () => {
    expect(await failureDecision(['a'], [3], 'local', error)).toMatchObject({
      allowed: true,
      limit: 3,
      remaining: 2,
      source: 'local',
      storeError: error,
      failureStrategy: 'local',
    });
  });
});
