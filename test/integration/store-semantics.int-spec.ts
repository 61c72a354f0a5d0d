import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  type LimitOptions,
  MemoryRateLimitStore,
  RateLimitService,
  type RateLimitStore,
  RedisRateLimitStore,
} from 'nest-redis-rate-limit';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';
import { RateLimitEngine } from '../../lib/rate-limit.engine.js';

const HOUR_US = 3_600_000_000;
const TOKEN_BUCKET_SHA = createHash('sha1')
  .update(readFileSync(new URL('../../lib/algorithms/token-bucket.lua', import.meta.url)))
  .digest('hex');
const slow = (capacity: number) => ({ capacity, usPerToken: HOUR_US });

interface Harness {
  readonly store: RateLimitStore;
  close(): Promise<void>;
}

const STORES: readonly [string, () => Promise<Harness>][] = [
  [
    'RedisRateLimitStore',
    async () => {
      const store = new RedisRateLimitStore(new Redis(process.env.REDIS_URL!), true, 1_000);
      await store.onModuleInit();
      return { store, close: () => store.onModuleDestroy() };
    },
  ],
  [
    'MemoryRateLimitStore',
    () => {
      const store = new MemoryRateLimitStore();
      return Promise.resolve({ store, close: () => Promise.resolve(store.onModuleDestroy()) });
    },
  ],
];

describe.each(STORES)('store semantics: %s', (_name, open) => {
  let harness: Harness;
  let store: RateLimitStore;
  let prefix: string;
  let service: RateLimitService;

  beforeAll(async () => {
    harness = await open();
    store = harness.store;
  });
  afterAll(() => harness.close());
  beforeEach(() => {
    prefix = `test:${randomUUID()}:`;
    service = new RateLimitService(
      new RateLimitEngine(resolveModuleOptions({ keyPrefix: prefix }), store),
    );
  });

  const key = (name = 'k') => `${prefix}${name}:{id}`;

  it('a new bucket starts full', async () => {
    await expect(store.take([key()], [slow(7)], [1], false)).resolves.toEqual([7, 0, 0]);
  });

  it('passes a burst of capacity, then denies with about one token time to wait', async () => {
    const rule = { capacity: 5, usPerToken: 1_000_000 };
    for (let i = 4; i >= 0; i--) {
      expect((await store.take([key()], [rule], [1], true))[0]).toBe(i);
    }
    const [remaining, resetMs, retryAfterMs] = await store.take([key()], [rule], [1], true);
    expect(remaining).toBe(0);
    expect(resetMs).toBeGreaterThan(4_500);
    expect(resetMs).toBeLessThanOrEqual(5_000);
    expect(retryAfterMs).toBeGreaterThan(500);
    expect(retryAfterMs).toBeLessThanOrEqual(1_000);
  });

  it('denied requests consume nothing: the wait never grows', async () => {
    await store.take([key()], [slow(2)], [2], true);
    let previousWaitMs = Infinity;
    for (let i = 0; i < 10; i++) {
      const [, , retryAfterMs] = await store.take([key()], [slow(2)], [1], true);
      expect(retryAfterMs).toBeGreaterThan(3_590_000);
      expect(retryAfterMs).toBeLessThanOrEqual(previousWaitMs);
      previousWaitMs = retryAfterMs!;
    }
  });

  it('a denied request leaves a fast bucket to refill on time', async () => {
    const rule = { capacity: 1, usPerToken: 200_000 };
    await store.take([key()], [rule], [1], true);
    for (let i = 0; i < 20; i++) await store.take([key()], [rule], [1], true);
    await sleep(260);
    const [, , retryAfterMs] = await store.take([key()], [rule], [1], true);
    expect(retryAfterMs).toBe(0);
  });

  it('all-or-nothing: when one limit denies, the other keeps its tokens', async () => {
    const keys = [key('a'), key('b')];
    const rules = [slow(5), slow(1)];
    await store.take(keys, rules, [1, 1], true);
    const denied = await store.take(keys, rules, [1, 1], true);
    expect(denied[5]).toBeGreaterThan(0);
    await expect(store.take([key('a')], [slow(5)], [1], false)).resolves.toEqual([
      4,
      expect.any(Number),
      0,
    ]);
  });

  it('retryAfterMs of a decision is the longest wait among the denying limits', async () => {
    const limits: LimitOptions[] = [
      { name: 'minute', capacity: 1, refill: '1/min' },
      { name: 'hour', capacity: 1, refill: '1/hour' },
      { name: 'roomy', capacity: 100, refill: '1/hour' },
    ];
    await service.consume('user:1', limits);
    const decision = await service.consume('user:1', limits);
    expect(decision.allowed).toBe(false);
    expect(decision.retryAfterMs).toBeGreaterThan(3_590_000);
    expect(decision.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    expect(decision.limits.map((limit) => limit.allowed)).toEqual([false, false, true]);
    expect(decision.limits[0]!.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(decision.limits[2]!.remaining).toBe(99);
  });

  it('a cost above capacity is denied with retryAfterMs -1 and consumes nothing', async () => {
    const limit = { capacity: 3, refill: '1/hour' };
    const decision = await service.consume('user:1', limit, 4);
    expect(decision).toMatchObject({ allowed: false, retryAfterMs: -1, remaining: 3 });
    await expect(service.peek('user:1', limit)).resolves.toMatchObject({ remaining: 3 });
  });

  it('refills continuously and stops at capacity', async () => {
    const rule = { capacity: 4, usPerToken: 50_000 };
    await store.take([key()], [rule], [4], true);
    await sleep(110);
    const [partly] = await store.take([key()], [rule], [1], false);
    expect(partly).toBeGreaterThanOrEqual(2);
    expect(partly).toBeLessThanOrEqual(4);
    await sleep(400);
    await expect(store.take([key()], [rule], [1], false)).resolves.toEqual([4, 0, 0]);
    await expect(store.take([key()], [rule], [4], true)).resolves.toEqual([0, 200, 0]);
    const [, , retryAfterMs] = await store.take([key()], [rule], [1], true);
    expect(retryAfterMs).toBeGreaterThan(0);
  });

  it('peek() consumes nothing and reset(key, limits) refills those buckets', async () => {
    const limit = { capacity: 5, refill: '5/hour' };
    await service.consume('user:1', limit, 3);
    await expect(service.peek('user:1', limit)).resolves.toMatchObject({
      allowed: true,
      remaining: 2,
    });
    await expect(service.peek('user:1', limit)).resolves.toMatchObject({ remaining: 2 });
    await service.reset('user:1', limit);
    await expect(service.peek('user:1', limit)).resolves.toMatchObject({
      remaining: 5,
      resetMs: 0,
    });
  });

  it('reset(key) refills every bucket of that identity and no other', async () => {
    const limits = [
      { name: 'a', capacity: 2, refill: '1/hour' },
      { name: 'b', capacity: 3, refill: '1/hour', scope: 'other' },
    ];
    await service.consume('user:1', limits);
    await service.consume('user:2', limits);
    await service.reset('user:1');
    const one = await service.peek('user:1', limits);
    const two = await service.peek('user:2', limits);
    expect(one.limits.map((limit) => limit.remaining)).toEqual([2, 3]);
    expect(two.limits.map((limit) => limit.remaining)).toEqual([1, 2]);
  });
});

describe('store semantics only Redis can show', () => {
  let client: Redis;
  let store: RedisRateLimitStore;
  let prefix: string;

  beforeAll(async () => {
    client = new Redis(process.env.REDIS_URL!);
    store = new RedisRateLimitStore(client, true, 1_000);
    await store.onModuleInit();
  });
  afterAll(() => store.onModuleDestroy());
  beforeEach(() => {
    prefix = `test:${randomUUID()}:`;
  });

  it('a key expires when its bucket is full again: PTTL is the time to full', async () => {
    const key = `${prefix}{id}`;
    const [, resetMs] = await store.take(
      [key],
      [{ capacity: 10, usPerToken: 1_000_000 }],
      [3],
      true,
    );
    const pttl = await client.pttl(key);
    expect(resetMs).toBe(3_000);
    expect(pttl).toBeLessThanOrEqual(3_000);
    expect(pttl).toBeGreaterThan(3_000 - 50);
  });

  it('a full bucket has no key', async () => {
    const key = `${prefix}{id}`;
    await store.take([key], [{ capacity: 2, usPerToken: 50_000 }], [1], true);
    await expect(client.exists(key)).resolves.toBe(1);
    await sleep(150);
    await expect(client.exists(key)).resolves.toBe(0);
    await store.take([key], [{ capacity: 2, usPerToken: 50_000 }], [0], true);
    await store.take([key], [{ capacity: 2, usPerToken: 50_000 }], [1], false);
    await expect(client.exists(key)).resolves.toBe(0);
  });

  it('stores one integer per bucket, which Redis keeps without a string allocation', async () => {
    const key = `${prefix}{id}`;
    await store.take([key], [slow(10)], [1], true);
    await expect(client.object('ENCODING', key)).resolves.toBe('int');
  });

  it("stamps buckets with Redis's clock, not the client's: the value is when it is full again", async () => {
    const key = `${prefix}{id}`;
    const before = await redisTimeUs(client);
    await store.take([key], [slow(10)], [1], true);
    const after = await redisTimeUs(client);
    const fullAtUs = Number(await client.get(key));
    expect(Number.isInteger(fullAtUs)).toBe(true);
    expect(fullAtUs).toBeGreaterThanOrEqual(before + HOUR_US);
    expect(fullAtUs).toBeLessThanOrEqual(after + HOUR_US);
  });

  it('reloads the script transparently after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const key = `${prefix}{id}`;
    await expect(store.take([key], [slow(3)], [1], true)).resolves.toEqual([2, 3_600_000, 0]);
    await client.script('FLUSH');
    await expect(client.script('EXISTS', TOKEN_BUCKET_SHA)).resolves.toEqual([0]);
    const [remaining] = await store.take([key], [slow(3)], [1], true);
    expect(remaining).toBe(1);
    await expect(client.script('EXISTS', TOKEN_BUCKET_SHA)).resolves.toEqual([1]);
  });
});

async function redisTimeUs(client: Redis): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1_000_000 + Number(micros);
}
