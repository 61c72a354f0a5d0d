import { randomUUID } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import {
  type LimitOptions,
  RateLimitConfigError,
  RateLimitModule,
  type RateLimitModuleOptions,
  RateLimitService,
} from 'nest-redis-rate-limit';

const LIMIT: LimitOptions = { name: 'absurd', capacity: 5, refill: '5/min' };
/** The largest capacity, with a refill slow enough for a long window: the biggest debt allowed. */
const WIDE: LimitOptions = { name: 'wide', capacity: 1_000_000_000, refill: 40 };
/** The slowest refill allowed at capacity 1: one token a year, 3.16e13 µs per token. */
const SLOW: LimitOptions = { name: 'slow', capacity: 1, refill: '1/day' };

const ABSURD_COSTS: readonly [string, number][] = [
  ['1e300', 1e300],
  ['Number.MAX_VALUE (cost × µs per token overflows to inf in Lua)', Number.MAX_VALUE],
  ['capacity + 1', 6],
  ['2^53 + 2', 2 ** 53 + 2],
];

const STORES: readonly [string, () => RateLimitModuleOptions][] = [
  ['Redis', () => ({ redis: process.env.REDIS_URL! })],
  ['the memory store', () => ({})],
];

describe.each(STORES)('absurd costs through RateLimitService on %s', (_store, options) => {
  let moduleRef: TestingModule;
  let service: RateLimitService;
  let redis: Redis;
  const keyPrefix = `test:${randomUUID()}:`;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        RateLimitModule.forRoot({ ...options(), keyPrefix, global: false, timeoutMs: 1_000 }),
      ],
    }).compile();
    await moduleRef.init();
    service = moduleRef.get(RateLimitService);
    redis = new Redis(process.env.REDIS_URL!);
  });
  afterAll(async () => {
    await moduleRef?.close();
    await redis?.quit();
  });

  it.each(ABSURD_COSTS)(
    'denies cost %s with retryAfterMs -1, no store error, nothing written; the bucket then serves normal requests',
    async (_case, cost) => {
      const key = `user:${randomUUID()}`;
      const denied = await service.consume(key, LIMIT, cost);
      expect(denied).toMatchObject({ allowed: false, retryAfterMs: -1, remaining: 5 });
      expect(denied.storeError).toBeUndefined();
      expect(await redis.keys(`${keyPrefix}*${key}*`)).toEqual([]);

      for (let left = 4; left >= 0; left--) {
        const decision = await service.consume(key, LIMIT);
        expect(decision).toMatchObject({ allowed: true, remaining: left });
      }
      const empty = await service.consume(key, LIMIT);
      expect(empty.allowed).toBe(false);
      expect(empty.retryAfterMs).toBeGreaterThan(0);
      expect(empty.retryAfterMs).toBeLessThanOrEqual(12_000);
    },
  );

  it.each(ABSURD_COSTS)(
    'denies cost %s on the widest and the slowest limits together, and both buckets stay intact',
    async (_case, cost) => {
      const key = `user:${randomUUID()}`;
      const denied = await service.consume(key, [WIDE, SLOW], cost);
      expect(denied).toMatchObject({ allowed: false, retryAfterMs: -1 });
      expect(denied.storeError).toBeUndefined();
      expect(denied.limits.map((limit) => limit.remaining)).toEqual([1_000_000_000, 1]);

      const next = await service.consume(key, [WIDE, SLOW]);
      expect(next).toMatchObject({ allowed: true });
      expect(next.limits.map((limit) => limit.remaining)).toEqual([999_999_999, 0]);
    },
  );

  it('charges a full-capacity cost on the widest limit exactly', async () => {
    const key = `user:${randomUUID()}`;
    const all = await service.consume(key, WIDE, 1_000_000_000);
    expect(all).toMatchObject({ allowed: true, remaining: 0 });
    // 1e9 tokens at 40 per second: 2.5e7 s, i.e. about 289 days to refill
    expect(all.resetMs).toBeGreaterThan(2.49e10);
    expect(all.resetMs).toBeLessThanOrEqual(2.5e10);
  });

  it.each([
    ['Infinity', Infinity],
    ['NaN', Number.NaN],
    ['-1', -1],
    ['a string', '5' as unknown as number],
  ])('rejects cost %s with a RateLimitConfigError, before any store call', async (_c, cost) => {
    const key = `user:${randomUUID()}`;
    await expect(service.consume(key, LIMIT, cost)).rejects.toThrow(RateLimitConfigError);
    expect(await service.consume(key, LIMIT)).toMatchObject({ allowed: true, remaining: 4 });
  });
});
