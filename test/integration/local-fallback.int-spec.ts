import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Controller, Get, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  type LimitOptions,
  RateLimit,
  RateLimitModule,
  type RateLimitModuleOptions,
  RateLimitService,
} from 'nest-redis-rate-limit';
import { ADAPTERS, startApp } from '../support/app-factory.js';
import { useRateLimitModules } from '../support/rate-limit-modules.js';
import { freePort, type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';

const LOCAL: LimitOptions = { capacity: 10, refill: '10/hour', failureStrategy: 'local' };

function options(redis: string, extra: RateLimitModuleOptions = {}): RateLimitModuleOptions {
  return { redis, timeoutMs: 100, keyPrefix: `test:${randomUUID()}:`, global: false, ...extra };
}

describe("failureStrategy 'local'", () => {
  let server: RedisServerProcess | undefined;
  const createModule = useRateLimitModules();

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function service(moduleOptions: RateLimitModuleOptions): Promise<RateLimitService> {
    return (await createModule(moduleOptions)).get(RateLimitService);
  }

  it('while Redis is unreachable, enforces capacity and refill divided by instances, in memory', async () => {
    const port = await freePort();
    const limiter = await service(options(`redis://127.0.0.1:${port}`, { instances: 4 }));

    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.consume('user:1', LOCAL));
    // capacity 10 over 4 instances: a share of 2 tokens, one back every 4 × 6 min
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, false, false]);
    expect(decisions[2]).toMatchObject({ limit: 2, remaining: 0, failureStrategy: 'local' });
    expect(decisions[2]!.storeError?.failure).toBe('unavailable');
    expect(decisions[2]!.retryAfterMs).toBeGreaterThan(23 * 60_000);
    expect(decisions[2]!.retryAfterMs).toBeLessThanOrEqual(24 * 60_000);
    // another identity has its own local bucket
    expect((await limiter.consume('user:2', LOCAL)).allowed).toBe(true);
  });

  it('a module default of local applies to limits that name no strategy; closed beats local', async () => {
    const port = await freePort();
    const limiter = await service(
      options(`redis://127.0.0.1:${port}`, { failureStrategy: 'local' }),
    );
    const plain: LimitOptions = { capacity: 1, refill: '1/hour' };
    expect(await limiter.consume('user:1', plain)).toMatchObject({ allowed: true });
    expect(await limiter.consume('user:1', plain)).toMatchObject({
      allowed: false,
      failureStrategy: 'local',
    });
    const both = [
      { ...plain, name: 'a', capacity: 100 },
      { ...plain, name: 'b', capacity: 100, failureStrategy: 'closed' as const },
    ];
    expect(await limiter.consume('user:3', both)).toMatchObject({
      allowed: false,
      failureStrategy: 'closed',
      retryAfterMs: 1000,
    });
  });

  it('decisions come from Redis again once it is back, and the local share is not carried over', async () => {
    const port = await freePort();
    const limiter = await service(options(`redis://127.0.0.1:${port}`, { instances: 5 }));
    expect(await limiter.consume('user:1', LOCAL)).toMatchObject({ allowed: true, limit: 2 });

    server = await startRedisServer({ port });
    const deadline = performance.now() + 3_000;
    let decision = await limiter.peek('user:1', LOCAL);
    while (decision.storeError !== undefined && performance.now() < deadline) {
      await sleep(50);
      decision = await limiter.peek('user:1', LOCAL);
    }
    expect(decision).toMatchObject({ allowed: true, limit: 10, remaining: 10 });
    expect(decision.storeError).toBeUndefined();
    expect(decision.failureStrategy).toBeUndefined();
  });

  it('rejects a bad instances value at startup', async () => {
    await expect(
      Test.createTestingModule({
        imports: [RateLimitModule.forRoot({ instances: 0 })],
      }).compile(),
    ).rejects.toThrow('instances must be a positive integer (got 0)');
  });
});

@Controller()
class LocalController {
  @Get('local')
  @RateLimit({ capacity: 2, refill: '2/hour', failureStrategy: 'local' })
  get(): string {
    return 'ok';
  }
}

describe.each(ADAPTERS)("failureStrategy 'local' over HTTP on %s", (adapter) => {
  it('answers 429 with Retry-After and RateLimit headers from the local bucket while Redis is down', async () => {
    const port = await freePort();
    @Module({
      imports: [RateLimitModule.forRoot({ ...options(`redis://127.0.0.1:${port}`), global: true })],
      controllers: [LocalController],
    })
    class LocalApp {}
    const running = await startApp(adapter, { module: LocalApp });
    try {
      await request(running.url).get('/local').expect(200);
      const last = await request(running.url).get('/local').expect(200);
      expect(last.headers['ratelimit']).toBe('"default";r=0;t=3600');
      const denied = await request(running.url).get('/local').expect(429);
      expect(denied.headers['retry-after']).toBe('1800');
    } finally {
      await running.close();
    }
  });
});
