import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import { START_US } from '../../lib/algorithms/algorithm.cases.js';
import type { BucketRule } from '../../lib/algorithms/algorithm.interface.js';
import { fixedWindow } from '../../lib/algorithms/fixed-window/fixed-window.js';
import { slidingWindow } from '../../lib/algorithms/sliding-window/sliding-window.js';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import { queryOf, repliesOf, requestsOf } from '../support/bucket-results.js';
import { FakeClock } from '../support/fake-clock.js';
import { LuaAtClock } from '../support/lua-at-clock.js';

/** A rule of any algorithm, with small capacities and windows so that time matters. */
const rule: fc.Arbitrary<Drawn> = fc.record({
  algorithm: fc.constantFrom(
    'token-bucket' as const,
    'fixed-window' as const,
    'sliding-window' as const,
  ),
  capacity: fc.integer({ min: 1, max: 8 }),
  // µs per token, or ms per window
  param: fc.integer({ min: 1, max: 2_000_000 }),
});

/** As options/ resolves it (drawn plainly, so that a counterexample reads well). */
interface Drawn {
  readonly algorithm: 'token-bucket' | 'fixed-window' | 'sliding-window';
  readonly capacity: number;
  readonly param: number;
}

function toRule({ algorithm, capacity, param }: Drawn): BucketRule {
  if (algorithm === 'token-bucket') return { algorithm: tokenBucket, capacity, usPerToken: param };
  const windowUs = (1 + (param % 3_000)) * 1000;
  return {
    algorithm: algorithm === 'fixed-window' ? fixedWindow : slidingWindow,
    capacity,
    windowUs,
  };
}

const step = fc.record({
  elapsedUs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_500_000 })),
  // whole costs mostly; fractional ones too (a window counts their ceiling)
  cost: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.double({ min: 0, max: 3, noNaN: true })),
  mode: fc.constantFrom('consume', 'consume', 'peek', 'refund'),
});

/**
 * One case table per algorithm drives both stores; this drives them with random ones: the same
 * requests, on one fake clock, to the memory store and to the bucket script on Redis (at that
 * clock), over one to three buckets of any algorithms per request. Every reply must be the same.
 */
describe('the memory store and the Lua script decide alike (property, every algorithm)', () => {
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
  });
  afterAll(() => redis.disconnect());

  it('gives the same replies at every step, whatever the algorithms mixed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rule, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 86_400_000_000 }),
        fc.array(step, { minLength: 1, maxLength: 40 }),
        async (drawn, startUs, steps) => {
          const rules = drawn.map(toRule);
          const clock = new FakeClock(START_US + startUs);
          const memory = new MemoryRateLimitStore(100, clock);
          const lua = new LuaAtClock(redis, clock);
          const id = randomUUID();
          const keys = rules.map((_, i) => `test:${id}:${i}:{id}`);
          try {
            for (const [index, { elapsedUs, cost, mode }] of steps.entries()) {
              clock.advanceUs(elapsedUs);
              const requests = requestsOf(
                keys,
                rules,
                rules.map(() => cost),
              );
              if (mode === 'refund') {
                await Promise.all([memory.refund(requests), lua.refund(requests)]);
                continue;
              }
              const query = queryOf(requests, mode === 'consume');
              const [inMemory, onRedis] = await Promise.all([memory.take(query), lua.take(query)]);
              expect({ step: index, reply: repliesOf(onRedis.results) }).toEqual({
                step: index,
                reply: repliesOf(inMemory.results),
              });
            }
          } finally {
            await memory.close();
            await redis.del(...keys);
          }
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);
});
