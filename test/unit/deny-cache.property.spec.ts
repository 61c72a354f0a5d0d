import fc from 'fast-check';
import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import { DenyCache } from '../../lib/cache/deny-cache.js';
import { FakeClock } from '../support/fake-clock.js';

const rule = fc.record({
  capacity: fc.integer({ min: 1, max: 20 }),
  usPerToken: fc.integer({ min: 1_000, max: 10_000_000 }),
});

const request = fc.record({
  elapsedUs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20_000_000 })),
  bucket: fc.integer({ min: 0, max: 2 }),
  cost: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 25 })),
  consume: fc.boolean(),
});

/**
 * The engine's use of the cache, replayed against the exact model (the memory store on the same
 * fake clock): every request also goes to the store, which a denial does not change, so the
 * store's answer is what the request would have got without the cache.
 */
describe('deny cache', () => {
  it('never changes a decision: a local answer is always a denial the store gives too', () => {
    fc.assert(
      fc.property(
        fc.array(rule, { minLength: 1, maxLength: 2 }),
        fc.array(request, { minLength: 1, maxLength: 300 }),
        (rules, requests) => {
          const clock = new FakeClock();
          const store = new MemoryRateLimitStore(1_000, clock);
          const cache = new DenyCache(1_000, clock);
          try {
            for (const { elapsedUs, bucket, cost, consume } of requests) {
              clock.advanceUs(elapsedUs);
              // one or two limits per request, over three identities
              const keys = rules.map((_, i) => `rl:s:${i}:{user:${bucket}}`);
              const costs = rules.map(() => cost);
              const local = cache.lookup(keys, rules, costs);
              const sentAtUs = cache.now();
              const truth = store.takeNow(keys, rules, costs, local === undefined && consume);
              const denied = (reply: readonly number[]) =>
                reply.some((value, i) => i % 3 === 2 && value !== 0);
              if (local !== undefined) {
                expect(denied(local)).toBe(true);
                expect(denied(truth)).toBe(true);
                // reported waits are never longer than the store's
                for (let i = 2; i < truth.length; i += 3) {
                  if (truth[i] === -1) expect(local[i]).toBe(-1);
                  else expect(local[i]!).toBeLessThanOrEqual(truth[i]!);
                }
              } else if (denied(truth)) {
                cache.recordDenial(keys, rules, costs, truth, sentAtUs);
              } else {
                cache.forget(keys);
              }
            }
          } finally {
            store.onModuleDestroy();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers a flood of denied requests locally until a token is back', () => {
    const clock = new FakeClock();
    const store = new MemoryRateLimitStore(10, clock);
    const cache = new DenyCache(10, clock);
    const rules = [{ capacity: 2, usPerToken: 1_000_000 }];
    const keys = ['rl:s:default:{ip:1}'];
    let storeCalls = 0;
    const decide = (): boolean => {
      const local = cache.lookup(keys, rules, [1]);
      if (local !== undefined) return false;
      storeCalls++;
      const sentAtUs = cache.now();
      const reply = store.takeNow(keys, rules, [1], true);
      const allowed = reply[2] === 0;
      if (allowed) cache.forget(keys);
      else cache.recordDenial(keys, rules, [1], reply, sentAtUs);
      return allowed;
    };
    const results: boolean[] = [];
    for (let i = 0; i < 1_500; i++) {
      results.push(decide());
      clock.advanceUs(1_000); // 1,500 requests over 1.5 s: one token comes back, at 1 s
    }
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(results.slice(0, 3)).toEqual([true, true, false]);
    expect(results[1_000]).toBe(true);
    // two allowed, the first denial, then the store again only once the token is nearly back
    expect(storeCalls).toBeLessThanOrEqual(6);
    store.onModuleDestroy();
  });

  it('keeps at most maxKeys entries, forgetting the least recently denied', () => {
    const clock = new FakeClock();
    const cache = new DenyCache(2, clock);
    const rules = [{ capacity: 1, usPerToken: 60_000_000 }];
    const denial = [0, 60_000, 60_000];
    for (const key of ['a', 'b', 'c']) cache.recordDenial([key], rules, [1], denial, clock.nowUs());
    expect(cache.size).toBe(2);
    expect(cache.lookup(['a'], rules, [1])).toBeUndefined();
    expect(cache.lookup(['c'], rules, [1])).toEqual([0, 59_999, 59_999]);
    cache.forgetIdentity('', 'x');
    expect(cache.size).toBe(2);
    cache.forget(['b', 'c']);
    expect(cache.size).toBe(0);
  });
});
