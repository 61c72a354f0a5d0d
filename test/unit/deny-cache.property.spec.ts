import fc from 'fast-check';
import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import type { BucketRule } from '../../lib/algorithms/algorithm.interface.js';
import { START_US } from '../../lib/algorithms/algorithm.cases.js';
import { fixedWindow } from '../../lib/algorithms/fixed-window/fixed-window.js';
import { slidingWindow } from '../../lib/algorithms/sliding-window/sliding-window.js';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import type {
  DecisionLayer,
  Take,
  TakeQuery,
} from '../../lib/pipeline/decision-layer.interface.js';
import { DenyCacheLayer } from '../../lib/pipeline/deny-cache.layer.js';
import {
  type BucketReply,
  deniedBy,
  queryOf,
  repliesOf,
  requestsOf,
  resultOf,
} from '../support/bucket-results.js';
import { FakeClock } from '../support/fake-clock.js';
import { resolveLimits } from '../../lib/options/resolve-limits.js';
import { refillArbitrary, resolvedRule } from '../support/refill-arbitraries.js';

/**
 * The memory store standing in for Redis below the deny cache: the same arithmetic on the fake
 * clock, its answers labelled 'redis' (the cache learns only from the store's own answers).
 * Counts the calls that reach it.
 */
class StoreAsRedis implements DecisionLayer {
  readonly description = 'redis';
  calls = 0;

  constructor(private readonly store: MemoryRateLimitStore) {}

  take(query: TakeQuery): Promise<Take> {
    this.calls++;
    return this.store.take(query).then((take) => ({ ...take, source: 'redis' }));
  }
  refund(): Promise<void> {
    return Promise.resolve();
  }
  reset(keys: readonly string[]): Promise<void> {
    return this.store.reset(keys);
  }
  resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    return this.store.resetIdentity(keyPrefix, identity);
  }
  close(): Promise<void> {
    return this.store.close();
  }
}

/** A limit of any algorithm, as options/ resolves it. */
const limit: fc.Arbitrary<BucketRule> = fc.oneof(
  fc
    .record({
      capacity: fc.integer({ min: 1, max: 20 }),
      refill: refillArbitrary(fc.integer({ min: 1_000, max: 10_000_000 }), 1_000, 10_000_000),
    })
    .map(({ capacity, refill }) => resolvedRule(capacity, refill)),
  fc
    .record({
      algorithm: fc.constantFrom('fixed-window' as const, 'sliding-window' as const),
      capacity: fc.integer({ min: 1, max: 20 }),
      windowMs: fc.integer({ min: 1, max: 30_000 }),
    })
    .map((options) => resolveLimits(options, 'property test')[0]!),
);

const request = fc.record({
  elapsedUs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20_000_000 })),
  bucket: fc.integer({ min: 0, max: 2 }),
  cost: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 25 })),
  consume: fc.boolean(),
});

/**
 * Every request goes through the deny cache in front of the exact model (the memory store on
 * the same fake clock). When the cache answers, the store is asked the same question without
 * writing (a denial writes nothing): its answer is what the request would have got without the
 * cache.
 */
describe('deny cache', () => {
  it('never changes a decision, whatever the algorithms mixed: a local answer is always a denial the store gives too', async () => {
    let localAnswers = 0;
    const localByAlgorithm = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(limit, { minLength: 1, maxLength: 3 }),
        // 'medium': long enough runs that the cache answers often (about 1,700 local answers
        // over the 300 runs, against about 120 at fast-check's default size)
        fc.array(request, { minLength: 1, maxLength: 300, size: 'medium' }),
        async (rules, requests) => {
          const clock = new FakeClock();
          const store = new MemoryRateLimitStore(1_000, clock);
          const cache = new DenyCacheLayer(new StoreAsRedis(store), 1_000, clock);
          try {
            for (const { elapsedUs, bucket, cost, consume } of requests) {
              clock.advanceUs(elapsedUs);
              // one to three limits per request, over three identities
              const keys = rules.map((_, i) => `rl:s:${i}:{user:${bucket}}`);
              const query = queryOf(
                requestsOf(
                  keys,
                  rules,
                  rules.map(() => cost),
                ),
                consume,
              );
              const take = await cache.take(query);
              if (take.source !== 'deny-cache') continue;
              localAnswers++;
              for (const name of new Set(rules.map((rule) => rule.algorithm.name))) {
                localByAlgorithm.set(name, (localByAlgorithm.get(name) ?? 0) + 1);
              }
              const local = take.results;
              const truth = (await store.take({ ...query, mode: 'peek' })).results;
              expect(deniedBy(local)).toBe(true);
              expect(deniedBy(truth)).toBe(true);
              // reported waits are never longer than the store's
              truth.forEach(({ retryAfterMs }, i) => {
                if (retryAfterMs === -1) expect(local[i]!.retryAfterMs).toBe(-1);
                else expect(local[i]!.retryAfterMs).toBeLessThanOrEqual(retryAfterMs);
              });
            }
          } finally {
            await cache.close();
          }
        },
      ),
      { numRuns: 300 },
    );
    // the property was put to the test
    expect(localAnswers).toBeGreaterThan(0);
    for (const name of ['token-bucket', 'fixed-window', 'sliding-window']) {
      expect({ name, answered: (localByAlgorithm.get(name) ?? 0) > 0 }).toEqual({
        name,
        answered: true,
      });
    }
  });

  it('answers a flood of denied requests locally until a token is back', async () => {
    const clock = new FakeClock();
    const inner = new StoreAsRedis(new MemoryRateLimitStore(10, clock));
    const cache = new DenyCacheLayer(inner, 10, clock);
    const rules: BucketRule[] = [{ algorithm: tokenBucket, capacity: 2, usPerToken: 1_000_000 }];
    const query = queryOf(requestsOf(['rl:s:default:{ip:1}'], rules, [1]), true);
    const decide = async (): Promise<boolean> => !deniedBy((await cache.take(query)).results);
    const results: boolean[] = [];
    for (let i = 0; i < 1_500; i++) {
      results.push(await decide());
      clock.advanceUs(1_000); // 1,500 requests over 1.5 s: one token comes back, at 1 s
    }
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(results.slice(0, 3)).toEqual([true, true, false]);
    expect(results[1_000]).toBe(true);
    // two allowed, the first denial, then the store again only once the token is nearly back
    expect(inner.calls).toBeLessThanOrEqual(6);
    await cache.close();
  });

  it('holds a fixed-window denial until the window ends, then asks the store again', async () => {
    const clock = new FakeClock(START_US + 200_000); // 0.2 s into a window of 1 s
    const inner = new StoreAsRedis(new MemoryRateLimitStore(10, clock));
    const cache = new DenyCacheLayer(inner, 10, clock);
    const rules: BucketRule[] = [{ algorithm: fixedWindow, capacity: 2, windowUs: 1_000_000 }];
    const query = queryOf(requestsOf(['rl:s:default:{ip:1}'], rules, [1]), true);
    const sources: string[] = [];
    const allowed: boolean[] = [];
    for (let i = 0; i < 100; i++) {
      const take = await cache.take(query);
      sources.push(take.source);
      allowed.push(!deniedBy(take.results));
      clock.advanceUs(10_000); // 100 requests over 1 s: the window ends at the 81st
    }
    expect(allowed.slice(0, 3)).toEqual([true, true, false]);
    // every denial after the first is answered locally, with the wait to the window's end
    expect(sources.slice(3, 80)).toEqual(Array(77).fill('deny-cache'));
    expect(allowed.slice(80, 82)).toEqual([true, true]);
    expect(inner.calls).toBeLessThanOrEqual(4 + 20);
    await cache.close();
  });

  it('answers a sliding-window flood locally for costs as high as the denied one, until its wait is over', async () => {
    const clock = new FakeClock(START_US);
    const inner = new StoreAsRedis(new MemoryRateLimitStore(10, clock));
    const cache = new DenyCacheLayer(inner, 10, clock);
    const rules: BucketRule[] = [{ algorithm: slidingWindow, capacity: 3, windowUs: 1_000_000 }];
    const query = (cost: number) =>
      queryOf(requestsOf(['rl:s:default:{ip:1}'], rules, [cost]), true);
    await cache.take(query(3));
    // 3 taken; 2 more wait into the next window until 3 weigh 1: 1 s + 2/3 s
    const denial = await cache.take(query(2));
    expect([denial.source, ...repliesOf(denial.results)]).toEqual(['redis', [0, 2_000, 1_667]]);
    expect((await cache.take(query(2))).source).toBe('deny-cache');
    expect((await cache.take(query(3))).source).toBe('deny-cache');
    // a smaller cost is not proven denied by that hold: the store answers (and denies)
    const smaller = await cache.take(query(1));
    expect([smaller.source, ...repliesOf(smaller.results)]).toEqual(['redis', [0, 2_000, 1_334]]);
    expect((await cache.take(query(1))).source).toBe('deny-cache');
    clock.advanceUs(1_334_000);
    const late = await cache.take(query(1));
    expect(late.source).toBe('redis');
    expect(deniedBy(late.results)).toBe(false);
    await cache.close();
  });

  it('keeps at most maxKeys entries, forgetting the least recently denied', async () => {
    const clock = new FakeClock();
    const rules: BucketRule[] = [{ algorithm: tokenBucket, capacity: 1, usPerToken: 60_000_000 }];
    const denial: BucketReply = [0, 60_000, 60_000];
    /** A store that denies as `denial` says while `denying`, else allows. */
    let denying = true;
    const inner: DecisionLayer = {
      description: 'redis',
      take: ({ requests }) =>
        Promise.resolve({
          results: requests.map(() => resultOf(denying ? denial : [0, 60_000, 0], 1)),
          source: 'redis',
        }),
      refund: () => Promise.resolve(),
      reset: () => Promise.resolve(),
      resetIdentity: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const cache = new DenyCacheLayer(inner, 2, clock);
    const takeOf = (key: string) => cache.take(queryOf(requestsOf([key], rules, [1]), true));
    for (const key of ['a', 'b', 'c']) await takeOf(key);
    expect(cache.size).toBe(2);
    // 'a' was forgotten: the store answers (and allows, so nothing is learned)
    denying = false;
    expect((await takeOf('a')).source).toBe('redis');
    const c = await takeOf('c');
    expect(c.source).toBe('deny-cache');
    expect(repliesOf(c.results)).toEqual([[0, 59_999, 59_999]]);
    await cache.resetIdentity('', 'x');
    expect(cache.size).toBe(2);
    await cache.reset(['b', 'c']);
    expect(cache.size).toBe(0);
  });
});
