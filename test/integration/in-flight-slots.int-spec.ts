import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  type AcquireOptions,
  RateLimitConfigError,
  type RateLimitEvent,
  RateLimitEvents,
  RateLimitService,
  type RateLimitModuleOptions,
} from 'nest-redis-rate-limit';
import { readLua } from '../../lib/algorithms/lua-command.js';
import { RateLimitEngine } from '../../lib/rate-limit.engine.js';
import { useRateLimitModules } from '../support/rate-limit-modules.js';
import { type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';

const IN_FLIGHT_LUA = readLua('../concurrency/in-flight.lua');

/** Waits (bounded) until `check` holds. */
async function until(check: () => Promise<boolean>, withinMs: number, what: string) {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > withinMs)
      throw new Error(`not within ${withinMs} ms: ${what}`);
    await sleep(20);
  }
}

describe('RateLimitService.acquire', () => {
  const createModule = useRateLimitModules();
  let server: RedisServerProcess;
  let admin: Redis;

  beforeAll(async () => {
    // Its own server: one test pauses it.
    server = await startRedisServer();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  async function service(options: RateLimitModuleOptions): Promise<RateLimitService> {
    return (await createModule(options)).get(RateLimitService);
  }

  describe.each(['redis', 'memory'] as const)('on the %s store', (store) => {
    const settings = (): RateLimitModuleOptions => (store === 'redis' ? { redis: server.url } : {});

    it('admits exactly max at once; a release frees one slot, and only once', async () => {
      const limiter = await service(settings());
      const TWO: AcquireOptions = { max: 2 };
      const first = await limiter.acquire('user:1', TWO);
      const second = await limiter.acquire('user:1', TWO);
      expect([first.allowed, second.allowed]).toEqual([true, true]);
      expect(first).toMatchObject({ limit: 2, remaining: 1, source: store });
      expect(second.remaining).toBe(0);
      const refused = await limiter.acquire('user:1', TWO);
      expect(refused).toMatchObject({
        allowed: false,
        limit: 2,
        remaining: 0,
        retryAfterMs: 1_000,
        source: store,
      });
      expect(refused.limits).toEqual([
        {
          name: 'in-flight',
          allowed: false,
          limit: 2,
          remaining: 0,
          resetMs: 1_000,
          retryAfterMs: 1_000,
        },
      ]);
      // Another identity, or another scope, has slots of its own.
      expect((await limiter.acquire('user:2', TWO)).allowed).toBe(true);
      expect((await limiter.acquire('user:1', { max: 2, scope: 'reports' })).allowed).toBe(true);

      await first.release();
      await first.release();
      await refused.release();
      expect((await limiter.acquire('user:1', TWO)).allowed).toBe(true);
      // Released twice, freed once: both slots are held again.
      expect((await limiter.acquire('user:1', TWO)).allowed).toBe(false);
    });

    it('renews a slot while it is held, past its lease', async () => {
      const limiter = await service(settings());
      const SHORT: AcquireOptions = { max: 1, leaseMs: 1_000 };
      const held = await limiter.acquire('user:1', SHORT);
      expect(held.allowed).toBe(true);
      await sleep(1_700);
      expect((await limiter.acquire('user:1', SHORT)).allowed).toBe(false);
      await held.release();
      expect((await limiter.acquire('user:1', SHORT)).allowed).toBe(true);
    });

    it('shadow mode: over max passes, holding nothing, and says it would have been refused', async () => {
      const limiter = await service(settings());
      const SHADOW: AcquireOptions = { max: 1, shadow: true };
      expect((await limiter.acquire('user:1', SHADOW)).allowed).toBe(true);
      const over = await limiter.acquire('user:1', SHADOW);
      expect(over).toMatchObject({ allowed: true, shadow: true, remaining: 0 });
      expect(over.limits[0]).toMatchObject({ allowed: false, shadow: true });
    });

    it('releases the slots it holds when the module closes', async () => {
      const moduleRef = await createModule({ ...settings(), keyPrefix: `test:close:${store}:` });
      const limiter = moduleRef.get(RateLimitService);
      const engine = moduleRef.get(RateLimitEngine);
      await limiter.acquire('user:1', { max: 1 });
      expect(engine.slots.holding).toBe(1);
      await moduleRef.close();
      expect(engine.slots.holding).toBe(0);
      if (store === 'redis') {
        expect(await admin.exists('test:close:redis:{user:1}:in-flight:service:in-flight')).toBe(0);
      }
    });
  });

  it('shares slots between instances on one Redis, and a dead holder’s slot frees when its lease ends', async () => {
    const prefix = `test:shared:${Date.now()}:`;
    const [a, b] = [
      await service({ redis: server.url, keyPrefix: prefix }),
      await service({ redis: server.url, keyPrefix: prefix }),
    ];
    const ONE: AcquireOptions = { max: 2, leaseMs: 1_000 };
    const key = `${prefix}{user:1}:in-flight:service:in-flight`;
    // A slot an instance took before it died: nobody renews it.
    expect(await admin.eval(IN_FLIGHT_LUA, 1, key, 1, 'dead:1', 2, 1_000)).toEqual([1, 1]);
    const held = await a.acquire('user:1', ONE);
    expect(held.allowed).toBe(true);
    expect((await b.acquire('user:1', ONE)).allowed).toBe(false);
    await until(async () => (await b.acquire('user:1', ONE)).allowed, 3_000, 'the dead slot frees');
    // The live one stayed: its instance renewed it.
    expect(await admin.zscore(key, 'dead:1')).toBeNull();
    expect(await admin.zcard(key)).toBe(2);
    await held.release();
    expect(await admin.zcard(key)).toBe(1);
  });

  it('a refusal is a denial event of the limit, like a rate denial', async () => {
    const moduleRef = await createModule({ redis: server.url });
    const events: RateLimitEvent[] = [];
    const subscription = moduleRef
      .get(RateLimitEvents)
      .events$.subscribe((event) => events.push(event));
    const limiter = moduleRef.get(RateLimitService);
    const EXPORTS: AcquireOptions = { max: 1, name: 'exports', scope: 'exports' };
    const held = await limiter.acquire('user:1', EXPORTS);
    await limiter.acquire('user:1', EXPORTS);
    subscription.unsubscribe();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'denial',
      scope: 'exports',
      identity: 'user:1',
      limits: ['exports'],
      source: 'redis',
      outcome: 'denied',
    });
    await held.release();
  });

  it('refuses bad options naming the call and the option; keyBy has no place here', async () => {
    const limiter = await service({});
    await expect(limiter.acquire('user:1', { max: 0 })).rejects.toThrow(
      new RateLimitConfigError('RateLimitService.acquire', [
        'max must be an integer from 1 to 100000 (got 0)',
      ]),
    );
    await expect(limiter.acquire('user:1', { max: 1, leaseMs: 10 })).rejects.toThrow(
      /leaseMs must be an integer from 1000 to 86400000 \(a day\) \(got 10\)/,
    );
    await expect(
      limiter.acquire('user:1', { max: 1, keyBy: 'ip' } as unknown as AcquireOptions),
    ).rejects.toThrow(/keyBy is not an option of acquire/);
    await expect(
      limiter.acquire('user:1', { max: 1, capacity: 5 } as unknown as AcquireOptions),
    ).rejects.toThrow(/capacity is not an option of a concurrency limit/);
  });

  describe('while Redis is paused (SIGSTOP)', () => {
    let paused = false;
    afterEach(() => {
      if (paused) process.kill(server.pid, 'SIGCONT');
      paused = false;
    });

    it("the failure strategy decides: 'open' admits, 'closed' refuses, 'local' counts max / instances here; a timed-out acquisition's slot is freed", async () => {
      const prefix = `test:paused:${Date.now()}:`;
      const limiter = await service({
        redis: server.url,
        keyPrefix: prefix,
        timeoutMs: 100,
        instances: 2,
        circuitBreaker: false,
      });
      expect((await limiter.acquire('user:1', { max: 4 })).allowed).toBe(true);
      process.kill(server.pid, 'SIGSTOP');
      paused = true;

      const open = await limiter.acquire('user:1', { max: 4, failureStrategy: 'open' });
      expect(open).toMatchObject({ allowed: true, source: 'fail-open', failureStrategy: 'open' });
      expect(open.storeError?.failure).toBe('timeout');
      const closed = await limiter.acquire('user:1', { max: 4, failureStrategy: 'closed' });
      expect(closed).toMatchObject({ allowed: false, source: 'fail-closed', retryAfterMs: 1_000 });
      const LOCAL: AcquireOptions = { max: 4, failureStrategy: 'local' };
      const local = [];
      for (let i = 0; i < 3; i++) local.push(await limiter.acquire('user:1', LOCAL));
      // A share of 4 / 2 instances.
      expect(local.map(({ allowed }) => allowed)).toEqual([true, true, false]);
      expect(local[0]).toMatchObject({ source: 'local', limit: 2 });
      await local[0]!.release();
      expect((await limiter.acquire('user:1', LOCAL)).allowed).toBe(true);

      process.kill(server.pid, 'SIGCONT');
      paused = false;
      // Every acquisition that timed out ran once Redis woke up, and was released after it:
      // only the slot taken before the pause is held.
      const key = `${prefix}{user:1}:in-flight:service:in-flight`;
      await until(async () => (await admin.zcard(key)) === 1, 3_000, 'one slot held');
    });
  });
});
