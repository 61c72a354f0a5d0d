import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { RateLimitStoreError, RedisRateLimitStore } from 'nest-redis-rate-limit';
import type { BucketRequest } from '../../lib/algorithms/algorithm.interface.js';
import { fixedWindow } from '../../lib/algorithms/fixed-window/fixed-window.js';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import type { Take } from '../../lib/pipeline/decision-layer.interface.js';
import { MAX_DECISIONS_PER_CALL } from '../../lib/stores/take-batch.js';
import { useRedisServices } from '../support/redis-services.js';

const HOUR_US = 3_600_000_000;

/**
 * The Redis store sends the decisions of one event-loop turn together, one script call per
 * MAX_DECISIONS_PER_CALL of them: each is still judged all-or-nothing, in the order taken, and
 * one that meets a key of another type fails alone. Its own redis-server: the test reads the
 * server's command counts and fills its memory.
 */
describe('RedisRateLimitStore: the decisions of one turn share script calls', () => {
  const redis = useRedisServices();
  let admin: Redis;
  let store: RedisRateLimitStore;

  beforeEach(async () => {
    admin = redis.admin();
    store = new RedisRateLimitStore(new Redis(redis.url()), true, 5_000);
    await store.waitUntilReady();
  });
  afterEach(() => store.close());

  const key = (name: string): string => `t:${name}:{${randomUUID()}}`;
  const bucket = (at: string, capacity: number): BucketRequest => ({
    key: at,
    rule: { algorithm: tokenBucket, capacity, usPerToken: HOUR_US },
    cost: 1,
  });
  const consume = (requests: readonly BucketRequest[]): Promise<Take> =>
    store.take({ requests, mode: 'consume', failureStrategy: 'open' });

  it('100 decisions taken in one turn on a bucket of 30: 30 pass, in the order taken, in ceil(100 / max) calls', async () => {
    const shared = key('order');
    await consume([bucket(key('warm-up'), 1)]); // the script is loaded: EVALSHA from here on
    const before = await redis.scriptCalls();
    const takes = await Promise.all(
      Array.from({ length: 100 }, () => consume([bucket(shared, 30)])),
    );
    expect(await redis.scriptCalls()).toBe(before + Math.ceil(100 / MAX_DECISIONS_PER_CALL));
    const remaining = takes.map(({ results }) => results[0]!.remaining);
    expect(remaining).toEqual([
      ...Array.from({ length: 30 }, (_, i) => 29 - i),
      ...Array.from({ length: 70 }, () => 0),
    ]);
    expect(takes.map(({ results }) => results[0]!.retryAfterMs === 0)).toEqual([
      ...Array.from({ length: 30 }, () => true),
      ...Array.from({ length: 70 }, () => false),
    ]);
    expect(takes.every(({ source }) => source === 'redis')).toBe(true);
  });

  it('a batch mixing algorithms, modes and a two-bucket decision judges each on its own', async () => {
    const [a, b, c] = [key('a'), key('b'), key('c')];
    const window: BucketRequest = {
      key: c,
      rule: { algorithm: fixedWindow, capacity: 2, windowUs: HOUR_US },
      cost: 1,
    };
    const [both, peek, denied, windowTake] = await Promise.all([
      consume([bucket(a, 1), bucket(b, 5)]),
      store.take({ requests: [bucket(a, 1)], mode: 'peek', failureStrategy: 'open' }),
      // a's one token went to the first decision: this one is denied and takes nothing from b
      consume([bucket(b, 5), bucket(a, 1)]),
      consume([window]),
    ]);
    expect(both.results.map((r) => r.remaining)).toEqual([0, 4]);
    expect(peek.results[0]!.retryAfterMs).toBeGreaterThan(0);
    expect(denied.results.map((r) => r.retryAfterMs > 0)).toEqual([false, true]);
    expect(denied.results[0]!.remaining).toBe(4);
    expect(windowTake.results[0]!.remaining).toBe(1);
    expect(Number(await admin.get(c))).toBe(1);
  });

  it('a decision that meets a key of another type fails alone; the others of its call stand', async () => {
    const [good, clash, other] = [key('good'), key('clash'), key('other')];
    await admin.hset(clash, 'field', 'value');
    await consume([bucket(key('warm-up'), 1)]);
    const before = await redis.scriptCalls();
    const [first, failed, last] = await Promise.allSettled([
      consume([bucket(good, 3)]),
      consume([bucket(clash, 3)]),
      consume([bucket(other, 3)]),
    ]);
    expect(await redis.scriptCalls()).toBe(before + 1);
    expect(first.status === 'fulfilled' && first.value.results[0]!.remaining).toBe(2);
    expect(last.status === 'fulfilled' && last.value.results[0]!.remaining).toBe(2);
    expect(failed.status).toBe('rejected');
    const error = (failed as PromiseRejectedResult).reason as RateLimitStoreError;
    expect(error).toBeInstanceOf(RateLimitStoreError);
    expect(error.failure).toBe('error');
    expect(error.message).toMatch(/WRONGTYPE/);
    expect(await admin.type(clash)).toBe('hash');
  });

  it("a server's error (OOM) fails every decision of the call, as it fails a call of its own", async () => {
    const keys = [key('oom-1'), key('oom-2')];
    const used = Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))?.[1]);
    await admin.config('SET', 'maxmemory', String(used + 256 * 1024));
    try {
      // One command may take memory past the limit; the next write is refused.
      await admin.setrange('filler', 1024 * 1024, 'x');
      const outcomes = await Promise.allSettled(keys.map((at) => consume([bucket(at, 3)])));
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect(String((outcome as PromiseRejectedResult).reason)).toMatch(/OOM/);
      }
      expect(await admin.exists(...keys)).toBe(0);
    } finally {
      await admin.del('filler');
      await admin.config('SET', 'maxmemory', '0');
    }
    const healed = await consume([bucket(keys[0]!, 3)]);
    expect(healed.results[0]!.remaining).toBe(2);
  });

  it("is sent under Jest's fake timers too: the flush does not use the global timers", async () => {
    jest.useFakeTimers();
    try {
      const take = await consume([bucket(key('fake-timers'), 3)]);
      expect(take.results[0]!.remaining).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });
});
