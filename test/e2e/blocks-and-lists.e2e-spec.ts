import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Controller, Get, type DynamicModule, Module } from '@nestjs/common';
import request from 'supertest';
import {
  RateLimit,
  RateLimitModule,
  type RateLimitModuleOptions,
  RateLimitService,
} from 'nest-redis-rate-limit';
import { ADAPTERS, type AdapterName, type RunningApp, startApp } from '../support/app-factory.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

@Controller()
class RoutesController {
  @Get('limited')
  @RateLimit({ capacity: 2, refill: '2/hour' })
  limited(): string {
    return 'ok';
  }

  @Get('keyed')
  @RateLimit({ capacity: 2, refill: '2/hour', keyBy: 'apiKey' })
  keyed(): string {
    return 'ok';
  }

  @Get('unlimited')
  unlimited(): string {
    return 'ok';
  }
}

function appModule(options: RateLimitModuleOptions): DynamicModule {
  @Module({
    imports: [
      RateLimitModule.forRoot({
        redis: process.env.REDIS_URL!,
        timeoutMs: TEST_TIMEOUT_MS,
        keyPrefix: `e2e:${randomUUID()}:`,
        ...options,
      }),
    ],
    controllers: [RoutesController],
  })
  class ListsApp {}
  return { module: ListsApp };
}

/** Statuses of `count` GETs of `path` sent as from `address` (through a trusted proxy). */
async function statuses(
  app: RunningApp,
  path: string,
  address: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<number[]> {
  const answered: number[] = [];
  for (let i = 0; i < count; i++) {
    const response = await request(app.url)
      .get(path)
      .set({ 'X-Forwarded-For': address, ...headers });
    answered.push(response.status);
  }
  return answered;
}

describe.each(ADAPTERS)('allowList and denyList on %s', (adapter: AdapterName) => {
  let running: RunningApp | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  const start = async (options: RateLimitModuleOptions): Promise<RunningApp> => {
    running = await startApp(adapter, appModule(options), { trustProxy: '127.0.0.1' });
    return running;
  };

  it('refuses denied IPv4 and IPv6 addresses and ranges with 403, before any limit', async () => {
    const app = await start({
      denyList: ['203.0.113.0/24', '2001:db8:bad::/48', '192.0.2.66'],
    });
    const denied = await request(app.url).get('/limited').set('X-Forwarded-For', '203.0.113.9');
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ statusCode: 403, message: 'Forbidden' });
    expect(denied.headers['ratelimit']).toBeUndefined();
    expect(await statuses(app, '/limited', '2001:db8:bad:1::7', 3)).toEqual([403, 403, 403]);
    // An IPv4-mapped IPv6 client is its IPv4 address.
    expect(await statuses(app, '/limited', '::ffff:203.0.113.10', 1)).toEqual([403]);
    expect(await statuses(app, '/limited', '192.0.2.66', 1)).toEqual([403]);
    // Neighbours outside the ranges are limited as usual.
    expect(await statuses(app, '/limited', '203.0.114.1', 3)).toEqual([200, 200, 429]);
    expect(await statuses(app, '/limited', '2001:db8:bae::1', 3)).toEqual([200, 200, 429]);
    expect(await statuses(app, '/limited', '192.0.2.67', 3)).toEqual([200, 200, 429]);
    // Lists apply where limits do: a route without limits serves everyone.
    expect(await statuses(app, '/unlimited', '203.0.113.9', 1)).toEqual([200]);
  });

  it('lets allowed addresses and ranges past every limit, without RateLimit headers', async () => {
    const app = await start({ allowList: ['198.51.100.0/24', '2001:db8:600d::/48'] });
    expect(await statuses(app, '/limited', '198.51.100.200', 5)).toEqual([200, 200, 200, 200, 200]);
    expect(await statuses(app, '/limited', '2001:db8:600d:ffff::1', 5)).toEqual([
      200, 200, 200, 200, 200,
    ]);
    const allowed = await request(app.url).get('/limited').set('X-Forwarded-For', '198.51.100.1');
    expect(allowed.headers['ratelimit']).toBeUndefined();
    expect(await statuses(app, '/limited', '198.51.101.1', 3)).toEqual([200, 200, 429]);
  });

  it('matches identities: an API key listed by its hash, and the deny list wins', async () => {
    const app = await start({
      allowList: ['apiKey:partner-key', '198.51.100.0/24'],
      denyList: ['apiKey:stolen-key'],
    });
    const key = (apiKey: string) => ({ 'x-api-key': apiKey });
    expect(await statuses(app, '/keyed', '192.0.2.1', 4, key('partner-key'))).toEqual([
      200, 200, 200, 200,
    ]);
    expect(await statuses(app, '/keyed', '192.0.2.1', 1, key('stolen-key'))).toEqual([403]);
    // An allowed address does not save a denied key.
    expect(await statuses(app, '/keyed', '198.51.100.7', 1, key('stolen-key'))).toEqual([403]);
    expect(await statuses(app, '/keyed', '192.0.2.1', 3, key('other-key'))).toEqual([
      200, 200, 429,
    ]);
  });
});

describe.each(ADAPTERS)('blocks over HTTP on %s, two app instances', (adapter: AdapterName) => {
  let apps: RunningApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
  });

  it("answers 429 with Retry-After of the block's remaining time on the other instance, until unblock", async () => {
    const keyPrefix = `e2e:${randomUUID()}:`;
    for (let i = 0; i < 2; i++) {
      apps.push(await startApp(adapter, appModule({ keyPrefix }), { trustProxy: '127.0.0.1' }));
    }
    const [a, b] = apps as [RunningApp, RunningApp];
    await a.app.get(RateLimitService).block('ip:192.0.2.10', 30_000);

    // The first block of the fleet reaches b when it next reads the block marker (each second);
    // wait for that with peeks, which charge nothing, so the route's bucket stays full.
    const started = performance.now();
    const probe = { capacity: 1, refill: '1/hour' } as const;
    while ((await b.app.get(RateLimitService).peek('ip:192.0.2.10', probe)).allowed) {
      expect(performance.now() - started).toBeLessThan(4_000);
      await sleep(50);
    }
    const blocked = await request(b.url).get('/limited').set('X-Forwarded-For', '192.0.2.10');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(28);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(30);
    expect(blocked.headers['ratelimit']).toMatch(/^"default";r=0;t=(29|30)$/);
    expect(await statuses(b, '/limited', '192.0.2.11', 1)).toEqual([200]);

    await b.app.get(RateLimitService).unblock('ip:192.0.2.10');
    expect(await statuses(b, '/limited', '192.0.2.10', 1)).toEqual([200]);
  });
});
