import { randomUUID } from 'node:crypto';
import { Controller, Get, Module } from '@nestjs/common';
import { Redis } from 'ioredis';
import request from 'supertest';
import { RateLimit, RateLimitModule } from 'nest-redis-rate-limit';
import { ADAPTERS, type RunningApp, startApp } from '../support/app-factory.js';
import { type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';
import { redisTimeUs } from '../support/redis-time.js';

const HOUR_MS = 3_600_000;
const HOUR_US = HOUR_MS * 1000;

@Controller('windows')
class WindowsController {
  @RateLimit({ algorithm: 'fixed-window', capacity: 2, windowMs: HOUR_MS })
  @Get('fixed')
  fixed() {
    return 'ok';
  }

  @RateLimit({ algorithm: 'sliding-window', capacity: 2, windowMs: HOUR_MS })
  @Get('sliding')
  sliding() {
    return 'ok';
  }

  @RateLimit([
    { name: 'burst', capacity: 3, refill: '3/h' },
    { name: 'hourly', algorithm: 'fixed-window', capacity: 2, windowMs: HOUR_MS },
    { name: 'smooth', algorithm: 'sliding-window', capacity: 4, windowMs: HOUR_MS },
  ])
  @Get('mixed')
  mixed() {
    return 'ok';
  }
}

@Module({})
class WindowsAppModule {}

/** Seconds to the end of the hour-long window that `timeUs` (Redis time) is in, rounded up. */
const toHourEndS = (timeUs: number, windows = 1): number =>
  Math.ceil((windows * HOUR_US - (timeUs % HOUR_US)) / 1_000_000);

/**
 * The hour windows' headers, on Redis's own clock, read before and after each request: the
 * request was judged between the two.
 */
describe.each(ADAPTERS)('window algorithms over HTTP (%s, its own redis-server)', (adapter) => {
  let server: RedisServerProcess;
  let admin: Redis;
  let running: RunningApp;
  let keyPrefix: string;

  const scriptCalls = async (): Promise<number> => {
    const stats = await admin.info('commandstats');
    let calls = 0;
    for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) {
      calls += Number(match[1]);
    }
    return calls;
  };
  /** A request, and Redis's time just before and after it. */
  const timed = async (path: string) => {
    const before = await redisTimeUs(admin);
    const response = await request(running.url).get(path);
    return { response, before, after: await redisTimeUs(admin) };
  };

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
    // An hour's last seconds would move the window between a request and its check.
    const leftMs = HOUR_MS - ((await redisTimeUs(admin)) % HOUR_US) / 1000;
    if (leftMs < 10_000) await new Promise((resolve) => setTimeout(resolve, leftMs + 100));
  }, 30_000);
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });
  beforeEach(async () => {
    keyPrefix = `test:${randomUUID()}:`;
    running = await startApp(adapter, {
      module: WindowsAppModule,
      imports: [
        RateLimitModule.forRoot({
          redis: server.url,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix,
          global: true,
        }),
      ],
      controllers: [WindowsController],
    });
  });
  afterEach(() => running.close());

  it('a fixed window: w is the window, t and Retry-After the seconds to its end', async () => {
    const first = await timed('/windows/fixed');
    expect(first.response.status).toBe(200);
    expect(first.response.headers['ratelimit-policy']).toBe('"default";q=2;w=3600');
    const t = toHourEndS(first.after);
    expect([t, toHourEndS(first.before)]).toContain(
      Number(/^"default";r=1;t=(\d+)$/.exec(first.response.headers['ratelimit'] as string)?.[1]),
    );
    expect((await request(running.url).get('/windows/fixed')).headers['ratelimit']).toMatch(
      /^"default";r=0;t=\d+$/,
    );
    const denied = await timed('/windows/fixed');
    expect(denied.response.status).toBe(429);
    const retryAfter = Number(denied.response.headers['retry-after']);
    expect([toHourEndS(denied.after), toHourEndS(denied.before)]).toContain(retryAfter);
    expect(denied.response.headers['ratelimit']).toBe(`"default";r=0;t=${retryAfter}`);
  });

  it('a sliding window: t until both windows weigh nothing, Retry-After until the weight allows', async () => {
    const first = await timed('/windows/sliding');
    expect(first.response.status).toBe(200);
    expect(first.response.headers['ratelimit-policy']).toBe('"default";q=2;w=3600');
    expect([toHourEndS(first.after, 2), toHourEndS(first.before, 2)]).toContain(
      Number(/^"default";r=1;t=(\d+)$/.exec(first.response.headers['ratelimit'] as string)?.[1]),
    );
    expect((await request(running.url).get('/windows/sliding')).status).toBe(200);
    const denied = await timed('/windows/sliding');
    expect(denied.response.status).toBe(429);
    // 2 counted: 1 more once they weigh 1, half-way into the next window
    const wait = (timeUs: number): number =>
      Math.ceil((1.5 * HOUR_US - (timeUs % HOUR_US)) / 1_000_000);
    expect([wait(denied.after), wait(denied.before)]).toContain(
      Number(denied.response.headers['retry-after']),
    );
  });

  it('a route mixing the three algorithms is judged in one script call, all-or-nothing', async () => {
    const before = await scriptCalls();
    const passed = [
      await request(running.url).get('/windows/mixed'),
      await request(running.url).get('/windows/mixed'),
    ];
    expect(passed.map((response) => response.status)).toEqual([200, 200]);
    expect(passed[1]!.headers['ratelimit-policy']).toBe(
      '"burst";q=3;w=3600, "hourly";q=2;w=3600, "smooth";q=4;w=3600',
    );
    expect(passed[1]!.headers['ratelimit']).toMatch(
      /^"burst";r=1;t=2400, "hourly";r=0;t=\d+, "smooth";r=2;t=\d+$/,
    );
    // the fixed window is spent: nothing is charged to the others
    const denied = await request(running.url).get('/windows/mixed');
    expect(denied.status).toBe(429);
    expect(denied.headers['ratelimit']).toMatch(
      /^"burst";r=1;t=2400, "hourly";r=0;t=\d+, "smooth";r=2;t=\d+$/,
    );
    expect(await scriptCalls()).toBe(before + 3);
    // the deny cache holds the fixed window's denial: no round trip until the window ends
    expect((await request(running.url).get('/windows/mixed')).status).toBe(429);
    expect(await scriptCalls()).toBe(before + 3);
    // one key per limit of the identity
    expect((await admin.keys(`${keyPrefix}*`)).sort()).toHaveLength(3);
  });
});
