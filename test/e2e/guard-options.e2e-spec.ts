import { randomUUID } from 'node:crypto';
import { Controller, Get, Module, type Type, UseGuards } from '@nestjs/common';
import { Redis } from 'ioredis';
import request from 'supertest';
import {
  RateLimit,
  RateLimitGuard,
  RateLimitModule,
  type RateLimitModuleOptions,
  SkipRateLimit,
} from 'nest-redis-rate-limit';
import {
  ADAPTERS,
  type AdapterName,
  createApp,
  listenApp,
  type RunningApp,
} from '../support/app-factory.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

@Controller('plain')
class PlainController {
  @Get()
  get() {
    return 'ok';
  }
}

@SkipRateLimit()
@Controller('skipped')
class SkippedController {
  @Get()
  get() {
    return 'ok';
  }
}

@RateLimit({ capacity: 2, refill: '2/min' })
@Controller('class-limited')
class ClassLimitedController {
  @Get('first')
  first() {
    return 'ok';
  }

  @Get('second')
  second() {
    return 'ok';
  }

  @RateLimit({ capacity: 7, refill: '7/min' })
  @Get('own')
  own() {
    return 'ok';
  }
}

@Controller('guarded')
@UseGuards(RateLimitGuard)
@RateLimit({ capacity: 2, refill: '2/min' })
class GuardedController {
  @Get()
  get() {
    return 'ok';
  }
}

@Controller('unguarded')
@RateLimit({ capacity: 2, refill: '2/min' })
class UnguardedController {
  @Get()
  get() {
    return 'ok';
  }
}

type Request = { query: Record<string, string | undefined> };

@Controller('costly')
class CostlyController {
  @RateLimit({
    capacity: 5,
    refill: '5/min',
    cost: (context) => Number(context.switchToHttp().getRequest<Request>().query['cost']),
  })
  @Get()
  get() {
    return 'ok';
  }

  @RateLimit({
    capacity: 2,
    refill: '2/min',
    cost: () => {
      throw new Error('cost bug');
    },
  })
  @Get('throws')
  throws() {
    return 'ok';
  }
}

@Controller('keyed')
class KeyedController {
  @RateLimit({
    capacity: 2,
    refill: '2/min',
    keyBy: () => {
      throw new Error('keyBy bug');
    },
  })
  @Get('throws')
  throws() {
    return 'ok';
  }

  @RateLimit({
    capacity: 2,
    refill: '2/min',
    keyBy: () => ({ not: 'an identity' }) as unknown as string,
  })
  @Get('object')
  object() {
    return 'ok';
  }

  @RateLimit({ capacity: 2, refill: '2/min', keyBy: 'user' })
  @Get('user')
  user() {
    return 'ok';
  }
}

interface Started {
  running: RunningApp;
  keyPrefix: string;
}

/**
 * Starts an app of the given controllers; `X-User` sets req.user before the guards run
 * (an Express middleware, a Fastify onRequest hook: Fastify middlewares only see the raw request).
 */
async function start(
  adapter: AdapterName,
  controllers: Type[],
  options: RateLimitModuleOptions = {},
): Promise<Started> {
  const keyPrefix = `e2e:${randomUUID()}:`;
  const timeoutMs = TEST_TIMEOUT_MS;
  @Module({
    imports: [
      RateLimitModule.forRoot({ redis: process.env.REDIS_URL!, keyPrefix, timeoutMs, ...options }),
    ],
    controllers,
  })
  class TestModule {}
  const app = await createApp(adapter, { module: TestModule });
  type UserRequest = { headers: Record<string, unknown>; user?: { id: string } };
  const setUser = (req: UserRequest) => {
    const id = req.headers['x-user'];
    if (typeof id === 'string') req.user = { id };
  };
  if (adapter === 'fastify') {
    const fastify = app.getHttpAdapter().getInstance() as {
      addHook(
        name: 'onRequest',
        hook: (req: UserRequest, reply: unknown, done: () => void) => void,
      ): void;
    };
    fastify.addHook('onRequest', (req, _reply, done) => {
      setUser(req);
      done();
    });
  } else {
    app.use((req: UserRequest, _res: unknown, next: () => void) => {
      setUser(req);
      next();
    });
  }
  return { running: await listenApp(app), keyPrefix };
}

async function statuses(
  url: string,
  path: string,
  count: number,
  user?: string,
): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i++) {
    const call = request(url).get(path);
    if (user !== undefined) void call.set('X-User', user);
    result.push((await call).status);
  }
  return result;
}

describe.each(ADAPTERS)('guard options on %s', (adapter) => {
  let started: Started | undefined;
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
  });

  afterAll(async () => {
    await redis.quit();
  });

  afterEach(async () => {
    await started?.running.close();
    started = undefined;
  });

  const run = async (controllers: Type[], options?: RateLimitModuleOptions): Promise<string> => {
    started = await start(adapter, controllers, options);
    return started.running.url;
  };

  async function keysOf(prefix: string): Promise<string[]> {
    return (await redis.keys(`${prefix}*`)).map((key) => key.slice(prefix.length)).sort();
  }

  it('applies defaultLimit to an undecorated handler but not to a @SkipRateLimit controller', async () => {
    const url = await run([PlainController, SkippedController], {
      defaultLimit: { capacity: 2, refill: '2/min' },
    });
    expect(await statuses(url, '/plain', 3)).toEqual([200, 200, 429]);
    const skipped = await request(url).get('/skipped').expect(200);
    expect(skipped.headers['ratelimit']).toBeUndefined();
    expect(await statuses(url, '/skipped', 4)).toEqual([200, 200, 200, 200]);
  });

  it("gives each handler of a class-level @RateLimit its own '<Controller>.<handler>' bucket", async () => {
    const url = await run([ClassLimitedController]);
    expect(await statuses(url, '/class-limited/first', 3)).toEqual([200, 200, 429]);
    expect(await statuses(url, '/class-limited/second', 3)).toEqual([200, 200, 429]);
    const keys = await keysOf(started!.keyPrefix);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^ClassLimitedController\.first:default:\{ip:/);
    expect(keys[1]).toMatch(/^ClassLimitedController\.second:default:\{ip:/);
  });

  it("lets a handler's @RateLimit override its controller's", async () => {
    const url = await run([ClassLimitedController]);
    const response = await request(url).get('/class-limited/own').expect(200);
    expect(response.headers['ratelimit-policy']).toBe('"default";q=7;w=60');
    expect(await statuses(url, '/class-limited/own', 6)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await statuses(url, '/class-limited/own', 1)).toEqual([429]);
  });

  // Known bug: RateLimitModule does not export RateLimitEngine, so Nest cannot build a
  // RateLimitGuard named by @UseGuards in the app's module and the app fails to start.
  // Turn this back into `it` once the engine is exported.
  it('with global: false, limits only routes under @UseGuards(RateLimitGuard)', async () => {
    const url = await run([GuardedController, UnguardedController], { global: false });
    const unguarded = await request(url).get('/unguarded').expect(200);
    expect(unguarded.headers['ratelimit']).toBeUndefined();
    expect(await statuses(url, '/unguarded', 3)).toEqual([200, 200, 200]);
    expect(await statuses(url, '/guarded', 3)).toEqual([200, 200, 429]);
  });

  it('with headers: false, sends no RateLimit headers yet still answers 429 with Retry-After', async () => {
    const url = await run([UnguardedController], { headers: false });
    const allowed = await request(url).get('/unguarded').expect(200);
    expect(allowed.headers['ratelimit']).toBeUndefined();
    expect(allowed.headers['ratelimit-policy']).toBeUndefined();
    await request(url).get('/unguarded').expect(200);
    const denied = await request(url).get('/unguarded').expect(429);
    expect(denied.headers['ratelimit']).toBeUndefined();
    expect(denied.headers['ratelimit-policy']).toBeUndefined();
    const retryAfter = Number(denied.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(denied.body).toEqual({ statusCode: 429, message: 'Too Many Requests', retryAfter });
  });

  it('charges the cost a function computes from the request', async () => {
    const url = await run([CostlyController]);
    const first = await request(url).get('/costly?cost=3').expect(200);
    expect(first.headers['ratelimit']).toMatch(/^"default";r=2;t=/);
    await request(url).get('/costly?cost=3').expect(429);
    await request(url).get('/costly?cost=2').expect(200);
  });

  it('denies a runtime cost above capacity with retryAfter -1 and no Retry-After header', async () => {
    const url = await run([CostlyController]);
    const denied = await request(url).get('/costly?cost=6').expect(429);
    expect(denied.headers['retry-after']).toBeUndefined();
    expect(denied.body).toEqual({ statusCode: 429, message: 'Too Many Requests', retryAfter: -1 });
    // Nothing was taken: the full bucket still holds a cost of 5.
    await request(url).get('/costly?cost=5').expect(200);
  });

  it('charges cost 1 when the cost function throws, never a 500', async () => {
    const url = await run([CostlyController]);
    expect(await statuses(url, '/costly/throws', 3)).toEqual([200, 200, 429]);
  });

  it('limits by IP when keyBy throws, never a 500', async () => {
    const url = await run([KeyedController]);
    expect(await statuses(url, '/keyed/throws', 3)).toEqual([200, 200, 429]);
    const keys = await keysOf(started!.keyPrefix);
    expect(keys).toEqual([expect.stringMatching(/^KeyedController\.throws:default:\{ip:/)]);
  });

  it('limits by IP when keyBy returns an object', async () => {
    const url = await run([KeyedController]);
    expect(await statuses(url, '/keyed/object', 3)).toEqual([200, 200, 429]);
    const keys = await keysOf(started!.keyPrefix);
    expect(keys).toEqual([expect.stringMatching(/^KeyedController\.object:default:\{ip:/)]);
  });

  it("with keyBy 'user', gives each req.user its own bucket and falls back to the IP", async () => {
    const url = await run([KeyedController]);
    expect(await statuses(url, '/keyed/user', 3, 'alice')).toEqual([200, 200, 429]);
    expect(await statuses(url, '/keyed/user', 3, 'bob')).toEqual([200, 200, 429]);
    expect(await statuses(url, '/keyed/user', 3)).toEqual([200, 200, 429]);
    const keys = await keysOf(started!.keyPrefix);
    expect(keys).toEqual([
      'KeyedController.user:default:{ip:127.0.0.1}',
      'KeyedController.user:default:{user:alice}',
      'KeyedController.user:default:{user:bob}',
    ]);
  });
});
