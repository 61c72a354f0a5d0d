import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  type LimitOptions,
  MemoryRateLimitStore,
  RateLimitConfigError,
  RateLimitService,
  RateLimitStore,
  RateLimitStoreError,
} from 'nest-redis-rate-limit';
import { freePort } from '../support/redis-process.mjs';
import { useRateLimitModules } from '../support/rate-limit-modules.js';

/** Slow enough that nothing refills while a test runs. */
const LIMIT: LimitOptions = { name: 'exports', capacity: 5, refill: '5/hour', scope: 'jobs' };

describe.each(['redis', 'memory'] as const)('RateLimitService.refund on the %s store', (store) => {
  const createModule = useRateLimitModules();
  let service: RateLimitService;
  let memory: MemoryRateLimitStore | undefined;
  let keyPrefix: string;

  beforeEach(async () => {
    keyPrefix = `test:${randomUUID()}:`;
    const moduleRef = await createModule({
      keyPrefix,
      ...(store === 'redis' ? { redis: process.env.REDIS_URL!, denyCache: { maxKeys: 100 } } : {}),
    });
    service = moduleRef.get(RateLimitService);
    const bottom: unknown = moduleRef.get(RateLimitStore);
    memory = bottom instanceof MemoryRateLimitStore ? bottom : undefined;
  });

  async function remaining(key: string): Promise<number> {
    return (await service.peek(key, LIMIT)).remaining;
  }

  it('gives the cost back: a refunded consume leaves the bucket as it was', async () => {
    await service.consume('user:1', LIMIT, 3);
    expect(await remaining('user:1')).toBe(2);
    await service.refund('user:1', LIMIT, 2);
    expect(await remaining('user:1')).toBe(4);
    await service.refund('user:1', LIMIT);
    expect(await remaining('user:1')).toBe(5);
  });

  it('never fills a bucket beyond its capacity', async () => {
    await service.consume('user:1', LIMIT);
    await service.refund('user:1', LIMIT, 4);
    expect(await remaining('user:1')).toBe(5);
    for (let i = 0; i < 5; i++) expect((await service.consume('user:1', LIMIT)).allowed).toBe(true);
    expect((await service.consume('user:1', LIMIT)).allowed).toBe(false);
  });

  it('leaves an absent bucket as it is (full), writing nothing', async () => {
    await service.refund('user:never-seen', LIMIT, 3);
    expect(memory?.size ?? 0).toBe(0);
    expect(await remaining('user:never-seen')).toBe(5);
    if (store === 'redis') {
      const redis = new Redis(process.env.REDIS_URL!);
      try {
        expect(await redis.keys(`${keyPrefix}*`)).toEqual([]);
      } finally {
        redis.disconnect();
      }
    }
  });

  it('lets a denied key pass again at once (the deny cache forgets it)', async () => {
    for (let i = 0; i < 5; i++) await service.consume('user:1', LIMIT);
    const denied = await service.consume('user:1', LIMIT);
    expect(denied.allowed).toBe(false);
    const cached = await service.consume('user:1', LIMIT);
    expect(cached.allowed).toBe(false);
    expect(cached.source).toBe(store === 'redis' ? 'deny-cache' : 'memory');
    await service.refund('user:1', LIMIT);
    const again = await service.consume('user:1', LIMIT);
    expect(again.allowed).toBe(true);
    expect(again.source).toBe(store);
  });

  it('gives back to every limit of a list, each its own cost', async () => {
    const limits: LimitOptions[] = [
      { name: 'burst', capacity: 3, refill: '3/hour' },
      { name: 'daily', capacity: 10, refill: '10/day', cost: 2 },
    ];
    await service.consume('user:1', limits);
    await service.consume('user:1', limits);
    await service.refund('user:1', limits);
    expect((await service.peek('user:1', limits)).limits.map((limit) => limit.remaining)).toEqual([
      2, 8,
    ]);
  });

  it('refuses what consume refuses: a cost function without a cost, a bad cost', async () => {
    const perCall: LimitOptions = { capacity: 5, refill: '5/min', cost: () => 2 };
    await expect(service.refund('user:1', perCall)).rejects.toThrow(RateLimitConfigError);
    await expect(service.refund('user:1', perCall)).rejects.toThrow(
      /RateLimitService\.refund: limit 'default': a cost function needs a request/,
    );
    await expect(service.refund('user:1', perCall, 2)).resolves.toBeUndefined();
    await expect(service.refund('user:1', LIMIT, -1)).rejects.toThrow(
      /cost must be a finite number >= 0 \(got -1\)/,
    );
  });
});

describe('RateLimitService.refund when Redis is unreachable', () => {
  const createModule = useRateLimitModules();

  it('rejects with RateLimitStoreError (the caller decides; the tokens stay taken)', async () => {
    const moduleRef = await createModule({
      redis: `redis://127.0.0.1:${await freePort()}`,
      readyWaitMs: 100,
    });
    await expect(moduleRef.get(RateLimitService).refund('user:1', LIMIT)).rejects.toThrow(
      RateLimitStoreError,
    );
  });
});
