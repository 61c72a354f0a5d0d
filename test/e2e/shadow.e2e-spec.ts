import { randomUUID } from 'node:crypto';
import { Controller, Get, Module } from '@nestjs/common';
import request from 'supertest';
import {
  type LimitOptions,
  RateLimit,
  RateLimitModule,
  type RateLimitModuleOptions,
} from 'nest-redis-rate-limit';
import {
  ADAPTERS,
  type AdapterName,
  createApp,
  listenApp,
  type RunningApp,
} from '../support/app-factory.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { useRedisServices } from '../support/redis-services.js';
import { freePort } from '../support/redis-process.mjs';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

const BURST = { name: 'burst', capacity: 3, refill: '3/h' } as const;
const STRICT = { name: 'strict', capacity: 1, refill: '1/h', shadow: true } as const;

@Controller('shadow')
class ShadowController {
  @RateLimit({ name: 'trial', capacity: 2, refill: '2/h' })
  @Get('plain')
  plain() {
    return 'ok';
  }

  @RateLimit([BURST, STRICT])
  @Get('mixed')
  mixed() {
    return 'ok';
  }

  @RateLimit([
    { ...BURST, failureStrategy: 'open' },
    { ...STRICT, failureStrategy: 'closed' },
  ])
  @Get('mixed-closed-shadow')
  mixedClosedShadow() {
    return 'ok';
  }

  @RateLimit({ ...STRICT, failureStrategy: 'closed' })
  @Get('closed-shadow')
  closedShadow() {
    return 'ok';
  }

  @RateLimit({ ...BURST, failureStrategy: 'closed' })
  @Get('closed')
  closed() {
    return 'ok';
  }

  @Get('default')
  byDefault() {
    return 'ok';
  }
}

async function start(
  adapter: AdapterName,
  options: RateLimitModuleOptions,
  logger = new CaptureLogger(),
): Promise<RunningApp> {
  @Module({
    imports: [
      RateLimitModule.forRoot({
        redis: process.env.REDIS_URL!,
        keyPrefix: `e2e:${randomUUID()}:`,
        timeoutMs: TEST_TIMEOUT_MS,
        ...options,
      }),
    ],
    controllers: [ShadowController],
  })
  class ShadowModule {}
  const app = await createApp(adapter, { module: ShadowModule });
  app.useLogger(logger);
  return listenApp(app);
}

/** `name → r` of a RateLimit header. */
function remaining(header: unknown): Record<string, number> {
  const table: Record<string, number> = {};
  for (const match of String(header).matchAll(/"([^"]+)";r=(\d+)/g)) {
    table[match[1]!] = Number(match[2]);
  }
  return table;
}

describe.each(ADAPTERS)('shadow mode on %s', (adapter) => {
  let running: RunningApp | undefined;

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('module-wide: every limit is judged and reported but never denies', async () => {
    running = await start(adapter, { shadow: true });
    const seen: Record<string, number>[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await request(running.url).get('/shadow/plain').expect(200);
      expect(response.headers['retry-after']).toBeUndefined();
      seen.push(remaining(response.headers['ratelimit']));
    }
    expect(seen).toEqual([{ trial: 1 }, { trial: 0 }, { trial: 0 }, { trial: 0 }]);
  });

  it('a limit of its own: the enforced limit is charged even when the shadow one would deny', async () => {
    running = await start(adapter, {});
    const seen: Record<string, number>[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await request(running.url).get('/shadow/mixed').expect(200);
      seen.push(remaining(response.headers['ratelimit']));
    }
    // strict (1, shadow) is empty after the first request; burst (3) keeps counting down.
    expect(seen).toEqual([
      { burst: 2, strict: 0 },
      { burst: 1, strict: 0 },
      { burst: 0, strict: 0 },
    ]);
    const denied = await request(running.url).get('/shadow/mixed').expect(429);
    // The wait is the enforced limit's (a token every 1200 s), not the shadow limit's (3600 s).
    expect(Number(denied.headers['retry-after'])).toBeGreaterThan(1100);
    expect(Number(denied.headers['retry-after'])).toBeLessThanOrEqual(1200);
  });

  it('module-wide shadow: false on a limit keeps it enforced', async () => {
    running = await start(adapter, {
      shadow: true,
      defaultLimit: { name: 'enforced', capacity: 1, refill: '1/h', shadow: false },
    });
    await request(running.url).get('/shadow/default').expect(200);
    await request(running.url).get('/shadow/default').expect(429);
    // The module-wide shadow still covers the route's own limit.
    for (let i = 0; i < 3; i++) await request(running.url).get('/shadow/plain').expect(200);
  });
});

describe('shadow mode when Redis is unreachable', () => {
  let running: RunningApp | undefined;

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it("a shadow limit's failureStrategy 'closed' never blocks; an enforced one still does", async () => {
    running = await start('express', {
      redis: `redis://127.0.0.1:${await freePort()}`,
      readyWaitMs: 0,
      circuitBreaker: false,
    });
    await request(running.url).get('/shadow/closed-shadow').expect(200);
    await request(running.url).get('/shadow/mixed-closed-shadow').expect(200);
    await request(running.url).get('/shadow/closed').expect(503);
  });
});

describe('shadow mode log', () => {
  let running: RunningApp | undefined;

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('logs would-be denials at most once a second per scope, counting those in between', async () => {
    const logger = new CaptureLogger();
    running = await start('express', { shadow: true }, logger);
    for (let i = 0; i < 7; i++) await request(running.url).get('/shadow/plain').expect(200);
    const shadowLines = () => logger.containing('Shadow mode').map((line) => line.message);
    // The first two requests pass anyway; the next five would have been denied: one line.
    expect(shadowLines()).toEqual([
      "Shadow mode: 'trial' would have denied a request in scope 'ShadowController.plain'; it passed",
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    await request(running.url).get('/shadow/plain').expect(200);
    expect(shadowLines()).toHaveLength(2);
    expect(shadowLines()[1]).toContain('(4 more since the last line)');
  });
});

describe('shadow mode round trips', () => {
  const redis = useRedisServices();
  const enforced: LimitOptions = { name: 'enforced', capacity: 5, refill: '5/h' };
  const shadow: LimitOptions = { name: 'shadowed', capacity: 5, refill: '5/h', shadow: true };

  it('costs one script call when every limit is in shadow mode, two when mixed', async () => {
    const service = await redis.service();
    const calls = async (limits: LimitOptions[]) => {
      const before = await redis.scriptCalls();
      await service.consume('user:1', limits);
      return (await redis.scriptCalls()) - before;
    };
    expect(await calls([enforced])).toBe(1);
    expect(await calls([shadow])).toBe(1);
    expect(await calls([enforced, shadow])).toBe(2);
  });

  it('peeks (charges nothing on) the shadow limits of a request the enforced ones deny', async () => {
    const service = await redis.service();
    const tight: LimitOptions = { name: 'enforced', capacity: 1, refill: '1/h' };
    expect((await service.consume('user:2', [tight, shadow])).allowed).toBe(true);
    const denied = await service.consume('user:2', [tight, shadow]);
    expect(denied).toMatchObject({ allowed: false });
    expect(denied.shadow).toBeUndefined();
    expect(denied.limits.map(({ name, remaining: left }) => [name, left])).toEqual([
      ['enforced', 0],
      ['shadowed', 4],
    ]);
    expect((await service.peek('user:2', [shadow])).remaining).toBe(4);
  });
});
