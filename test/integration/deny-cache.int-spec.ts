import { randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { type LimitOptions, RateLimitModule } from 'nest-redis-rate-limit';
import { useRedisServices } from '../support/redis-services.js';

const SLOW: LimitOptions[] = [
  { name: 'burst', capacity: 10, refill: '10/hour' },
  { name: 'daily', capacity: 25, refill: '25/day' },
];

describe('deny cache on Redis', () => {
  const { service, scriptCalls } = useRedisServices();

  it('gives the same decisions as no cache over a random sequence of costs, with fewer round trips', async () => {
    const cached = await service();
    const uncached = await service({ denyCache: false });
    let seed = 7;
    const costs = Array.from({ length: 150 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 4; // 0..3, so the buckets empty, deny, and cost 0 keeps passing
    });

    const before = await scriptCalls();
    const withCache = [];
    for (const cost of costs) {
      withCache.push(await cached.consume('user:1', SLOW, cost));
    }
    const cachedCalls = (await scriptCalls()) - before;
    const withoutCache = [];
    for (const cost of costs) withoutCache.push(await uncached.consume('user:1', SLOW, cost));
    const uncachedCalls = (await scriptCalls()) - before - cachedCalls;

    expect(withCache.map((d) => d.allowed)).toEqual(withoutCache.map((d) => d.allowed));
    expect(withCache.map((d) => d.limits.map((l) => l.allowed))).toEqual(
      withoutCache.map((d) => d.limits.map((l) => l.allowed)),
    );
    expect(withCache.filter((d) => d.allowed).length).toBeGreaterThan(5);
    expect(uncachedCalls).toBe(costs.length);
    // cost 0 always passes, so it always goes to Redis; every other denial after the first is local
    const zeroCosts = costs.filter((cost) => cost === 0).length;
    expect(cachedCalls).toBeLessThan(zeroCosts + 15);
  });

  it('answers a denied flood without a single Redis command, and reset() clears it here', async () => {
    const limiter = await service();
    const limit: LimitOptions = { capacity: 2, refill: '2/hour' };
    await limiter.consume('ip:9.9.9.9', limit);
    await limiter.consume('ip:9.9.9.9', limit);
    const first = await limiter.consume('ip:9.9.9.9', limit);
    expect(first.allowed).toBe(false);

    const before = await scriptCalls();
    for (let i = 0; i < 1_000; i++) {
      const decision = await limiter.consume('ip:9.9.9.9', limit);
      expect(decision.allowed).toBe(false);
      expect(decision.retryAfterMs).toBeGreaterThan(0);
      expect(decision.retryAfterMs).toBeLessThanOrEqual(first.retryAfterMs);
    }
    expect((await scriptCalls()) - before).toBe(0);

    await limiter.reset('ip:9.9.9.9', limit);
    expect(await limiter.consume('ip:9.9.9.9', limit)).toMatchObject({
      allowed: true,
      remaining: 1,
    });
  });

  it('a cost over capacity is denied locally once known, and another identity is not affected', async () => {
    const limiter = await service();
    const limit: LimitOptions = { capacity: 3, refill: '3/hour' };
    expect(await limiter.consume('user:a', limit, 4)).toMatchObject({
      allowed: false,
      retryAfterMs: -1,
    });
    const before = await scriptCalls();
    expect(await limiter.consume('user:a', limit, 4)).toMatchObject({ retryAfterMs: -1 });
    expect((await scriptCalls()) - before).toBe(0);
    expect(await limiter.consume('user:a', limit, 1)).toMatchObject({ allowed: true });
    expect(await limiter.consume('user:b', limit, 3)).toMatchObject({ allowed: true });
  });

  it('another instance resetting a bucket is not seen until the cached denial expires', async () => {
    const prefix = `test:${randomUUID()}:`;
    const a = await service({ keyPrefix: prefix });
    const b = await service({ keyPrefix: prefix });
    const limit: LimitOptions = { capacity: 1, refill: '1/hour' };
    await a.consume('user:1', limit);
    expect((await a.consume('user:1', limit)).allowed).toBe(false);
    await b.reset('user:1', limit);
    // documented: instance a still denies from its cache; b, which reset, asks Redis
    expect((await a.consume('user:1', limit)).allowed).toBe(false);
    expect((await b.consume('user:1', limit)).allowed).toBe(true);
  });

  it('rejects a bad denyCache option at startup', async () => {
    await expect(
      Test.createTestingModule({
        imports: [RateLimitModule.forRoot({ denyCache: { maxKeys: -1 } })],
      }).compile(),
    ).rejects.toThrow('denyCache.maxKeys must be a positive integer (got -1)');
  });
});
