import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type LimitOptions,
  type RateLimitDecision,
  type RateLimitModuleOptions,
  RateLimitService,
} from 'nest-redis-rate-limit';
import { useRateLimitModules } from '../support/rate-limit-modules.js';
import { useRedisServices } from '../support/redis-services.js';
import { type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';

const LIMIT: LimitOptions = { capacity: 5, refill: '5/hour' };
const TWO: LimitOptions[] = [
  { name: 'a', capacity: 5, refill: '5/hour' },
  { name: 'b', capacity: 5, refill: '5/hour' },
];

/** Polls `decide` until it answers as `allowed`, or `withinMs` passes; returns the ms it took. */
async function until(
  allowed: boolean,
  decide: () => Promise<RateLimitDecision>,
  withinMs: number,
): Promise<number> {
  const started = performance.now();
  while ((await decide()).allowed !== allowed) {
    if (performance.now() - started > withinMs) {
      throw new Error(`still ${allowed ? 'denied' : 'allowed'} after ${withinMs} ms`);
    }
    await sleep(20);
  }
  return performance.now() - started;
}

describe('blocks on Redis, two instances sharing it', () => {
  const { service, scriptCalls } = useRedisServices();

  /** Two module instances on one prefix: two app instances of one fleet. */
  async function fleet(
    options: RateLimitModuleOptions = {},
  ): Promise<[RateLimitService, RateLimitService]> {
    const keyPrefix = `test:${randomUUID()}:`;
    return [await service({ keyPrefix, ...options }), await service({ keyPrefix, ...options })];
  }

  it('denies the identity on every limit and every instance until the block ends, retry = its remaining time', async () => {
    const [a, b] = await fleet();
    expect((await b.consume('user:1', LIMIT)).allowed).toBe(true);

    await a.block('user:1', 6_000);
    const here = await a.consume('user:1', LIMIT);
    expect(here).toMatchObject({ allowed: false, source: 'block', remaining: 0 });
    expect(here.retryAfterMs).toBeGreaterThan(5_000);
    expect(here.retryAfterMs).toBeLessThanOrEqual(6_000);
    // The first block of the fleet reaches the other instance at its next poll of the marker
    // (each second; a loaded machine may run a poll late), long before the block ends.
    expect(await until(false, () => b.peek('user:1', LIMIT), 4_000)).toBeLessThan(2_500);
    const there = await b.consume('user:1', { ...LIMIT, name: 'other' });
    expect(there).toMatchObject({ allowed: false, source: 'block' });
    expect(there.retryAfterMs).toBeGreaterThan(3_000);
    expect(there.retryAfterMs).toBeLessThanOrEqual(6_000);
    // Another identity is not blocked.
    expect(await b.consume('user:2', LIMIT)).toMatchObject({ allowed: true, source: 'redis' });

    // Denied requests took nothing: once the block ends, 4 of 5 tokens are left.
    await until(true, () => a.peek('user:1', LIMIT), 6_500);
    expect(await b.consume('user:1', LIMIT)).toMatchObject({ allowed: true, remaining: 3 });
  }, 15_000);

  it("with blocks: 'always', a block reaches the other instance at once", async () => {
    const [a, b] = await fleet({ blocks: 'always' });
    await a.block('user:1', 60_000);
    const there = await b.consume('user:1', LIMIT);
    expect(there).toMatchObject({ allowed: false, source: 'block' });
    expect(there.retryAfterMs).toBeGreaterThan(59_000);
  });

  it('while any block is active, a new one reaches the other instance at once', async () => {
    const [a, b] = await fleet();
    await a.block('user:1', 60_000);
    await until(false, () => b.peek('user:1', LIMIT), 4_000);
    await a.block('user:2', 60_000);
    expect(await b.consume('user:2', LIMIT)).toMatchObject({ allowed: false, source: 'block' });
  });

  it('unblock lifts it here at once, and on the other instance at its next poll of the marker (each second)', async () => {
    const [a, b] = await fleet();
    await a.block('user:1', 60_000);
    await until(false, () => b.peek('user:1', LIMIT), 4_000);

    await b.unblock('user:1');
    expect(await b.consume('user:1', LIMIT)).toMatchObject({ allowed: true, source: 'redis' });
    // a set the block and knows it locally: it forgets it when it sees the marker change.
    expect(await until(true, () => a.peek('user:1', LIMIT), 4_000)).toBeLessThan(2_500);
  });

  it('blocks the given limits only; unblocking some limits leaves a block of all in place', async () => {
    const [a, b] = await fleet({ blocks: 'always' });
    await a.block('user:1', 60_000, TWO[0]);

    const both = await b.consume('user:1', TWO);
    expect(both).toMatchObject({ allowed: false, source: 'block' });
    expect(both.limits.map((limit) => limit.allowed)).toEqual([false, true]);
    expect(both.limits[0]!.retryAfterMs).toBeGreaterThan(59_000);
    // The request was denied: the free limit's bucket was not charged.
    expect(both.limits[1]).toMatchObject({ remaining: 5, retryAfterMs: 0 });
    expect(await b.consume('user:1', TWO[1]!)).toMatchObject({ allowed: true, remaining: 4 });
    // The same limit in another scope is another bucket, not blocked.
    expect((await b.consume('user:1', { ...TWO[0]!, scope: 'elsewhere' })).allowed).toBe(true);

    await a.block('user:1', 60_000);
    await a.unblock('user:1', TWO[0]);
    expect(await b.consume('user:1', TWO[1]!)).toMatchObject({ allowed: false, source: 'block' });
    await a.unblock('user:1');
    expect(await a.consume('user:1', TWO)).toMatchObject({ allowed: true });
    // b had learned the block from Redis: it forgets it when it sees the marker change.
    expect(await until(true, () => b.peek('user:1', TWO), 4_000)).toBeLessThan(2_500);
  });

  it('a second block replaces the first, shorter or longer', async () => {
    const [a, b] = await fleet({ blocks: 'always' });
    await a.block('user:1', 60_000);
    expect((await b.peek('user:1', LIMIT)).retryAfterMs).toBeGreaterThan(59_000);
    await a.block('user:1', 500);
    expect((await a.peek('user:1', LIMIT)).retryAfterMs).toBeLessThanOrEqual(500);
    // b had learned the longer block: it forgets it when it sees the marker change.
    await until(true, () => b.peek('user:1', LIMIT), 2_000);
  });

  it('a blocked identity that keeps sending costs no round trip once this instance knows', async () => {
    const [a, b] = await fleet();
    await a.block('user:1', 60_000);
    await until(false, () => b.peek('user:1', LIMIT), 4_000);

    const before = await scriptCalls();
    for (const limiter of [a, b]) {
      for (let i = 0; i < 100; i++) {
        expect(await limiter.consume('user:1', LIMIT)).toMatchObject({
          allowed: false,
          source: 'block',
        });
      }
    }
    expect((await scriptCalls()) - before).toBe(0);
  });

  it('peek shows a block; reset() refills buckets and leaves the block', async () => {
    const [a] = await fleet();
    await a.consume('user:1', LIMIT);
    await a.block('user:1', 60_000);
    expect(await a.peek('user:1', LIMIT)).toMatchObject({ allowed: false, source: 'block' });
    await a.reset('user:1');
    await a.reset('user:1', LIMIT);
    expect(await a.consume('user:1', LIMIT)).toMatchObject({ allowed: false, source: 'block' });
  });

  it('refuses a duration that is not a whole number of ms from 1 to a year', async () => {
    const a = await service();
    for (const duration of [0, -5, 1.5, Number.NaN, 400 * 86_400_000]) {
      await expect(a.block('user:1', duration)).rejects.toThrow(
        /RateLimitService\.block: durationMs must be an integer from 1 to 31622400000/,
      );
    }
  });
});

describe('blocks while Redis is down', () => {
  let server: RedisServerProcess | undefined;
  const createModule = useRateLimitModules();
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('keeps denying the blocks this instance knows; block() rejects', async () => {
    server = await startRedisServer();
    const limiter = (
      await createModule({ redis: server.url, timeoutMs: 200, failureStrategy: 'open' })
    ).get(RateLimitService);
    await limiter.block('user:1', 60_000);
    await server.stop();
    server = undefined;

    expect(await limiter.consume('user:1', LIMIT)).toMatchObject({
      allowed: false,
      source: 'block',
    });
    expect(await limiter.consume('user:2', LIMIT)).toMatchObject({
      allowed: true,
      source: 'fail-open',
    });
    await expect(limiter.block('user:2', 1_000)).rejects.toMatchObject({
      name: 'RateLimitStoreError',
    });
  });
});

describe('blocks on the memory store', () => {
  const createModule = useRateLimitModules();

  it('blocks, per limit or all, and unblocks, in this process', async () => {
    const limiter = (await createModule({})).get(RateLimitService);
    await limiter.block('user:1', 60_000, TWO[0]);
    const both = await limiter.consume('user:1', TWO);
    expect(both).toMatchObject({ allowed: false, source: 'block' });
    expect(both.limits.map((limit) => limit.allowed)).toEqual([false, true]);
    expect(both.retryAfterMs).toBeGreaterThan(59_000);
    expect(await limiter.consume('user:1', TWO[1]!)).toMatchObject({ allowed: true });

    await limiter.block('user:1', 60_000);
    expect(await limiter.consume('user:1', TWO[1]!)).toMatchObject({ allowed: false });
    await limiter.unblock('user:1', TWO[0]);
    expect(await limiter.consume('user:1', TWO[1]!)).toMatchObject({ allowed: false });
    await limiter.unblock('user:1');
    expect(await limiter.consume('user:1', TWO)).toMatchObject({ allowed: true, source: 'memory' });
  });
});
