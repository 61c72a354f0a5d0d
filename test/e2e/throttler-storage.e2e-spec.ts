import { randomUUID } from 'node:crypto';
import { Controller, type DynamicModule, Get, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Redis } from 'ioredis';
import request, { type Response } from 'supertest';
import { RateLimitModule, RateLimitThrottlerStorage } from 'nest-redis-rate-limit';
import { ADAPTERS, type RunningApp, startApp } from '../support/app-factory.js';
import { throttler } from '../support/nestjs-throttler.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

const { SkipThrottle, Throttle, ThrottlerGuard, ThrottlerModule } = throttler;

/** Two throttlers: one that blocks (for blockDuration, default its ttl) and one that does not. */
const THROTTLERS = [
  { name: 'default', ttl: 60_000, limit: 3 },
  { name: 'hourly', ttl: 3_600_000, limit: 4, blockDuration: 0 },
];

@Controller('throttled')
class ThrottledController {
  @Get()
  list(): { ok: true } {
    return { ok: true };
  }

  @Throttle({ default: { limit: 1, ttl: 60_000, blockDuration: 120_000 } })
  @Get('strict')
  strict(): { ok: true } {
    return { ok: true };
  }

  @SkipThrottle({ default: true, hourly: true })
  @Get('free')
  free(): { ok: true } {
    return { ok: true };
  }
}

/** The throttler app of a user who moved to this library's storage, as the README shows it. */
function withRateLimitStorage(keyPrefix: string): DynamicModule {
  @Module({
    imports: [
      RateLimitModule.forRoot({
        redis: process.env.REDIS_URL!,
        timeoutMs: TEST_TIMEOUT_MS,
        keyPrefix,
        global: false,
      }),
      ThrottlerModule.forRootAsync({
        inject: [RateLimitThrottlerStorage],
        useFactory: (storage: RateLimitThrottlerStorage) => ({ throttlers: THROTTLERS, storage }),
      }),
    ],
    controllers: [ThrottledController],
    providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
  })
  class RateLimitStorageApp {}
  return { module: RateLimitStorageApp };
}

/** The same app on throttler's own in-memory storage. */
function withThrottlerStorage(): DynamicModule {
  @Module({
    imports: [ThrottlerModule.forRoot({ throttlers: THROTTLERS })],
    controllers: [ThrottledController],
    providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
  })
  class ThrottlerStorageApp {}
  return { module: ThrottlerStorageApp };
}

/** What a client sees of a throttled answer. */
function seen(response: Response) {
  const headers = Object.fromEntries(
    Object.entries(response.headers).filter(
      ([name]) => name.startsWith('x-ratelimit-') || name.startsWith('retry-after'),
    ),
  );
  return { status: response.status, body: response.body as unknown, headers };
}

describe.each(ADAPTERS)('@nestjs/throttler on %s with RateLimitThrottlerStorage', (adapter) => {
  let ours: RunningApp | undefined;
  let theirs: RunningApp | undefined;
  let keyPrefix: string;

  beforeEach(async () => {
    keyPrefix = `e2e:${randomUUID()}:`;
    ours = await startApp(adapter, withRateLimitStorage(keyPrefix));
    theirs = await startApp(adapter, withThrottlerStorage());
  });

  afterEach(async () => {
    await ours?.close();
    await theirs?.close();
  });

  /** The same request to both apps; the two answers, as seen by a client. */
  async function both(path: string) {
    const mine = await request(ours!.url).get(path);
    const reference = await request(theirs!.url).get(path);
    return { ours: seen(mine), theirs: seen(reference) };
  }

  it('answers a request sequence as throttler does: statuses, X-RateLimit-* per throttler, Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const answers = await both('/throttled');
      expect(answers.ours).toEqual(answers.theirs);
      statuses.push(answers.ours.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    // Backed by this module's store: the records are in Redis, under its key prefix.
    const redis = new Redis(process.env.REDIS_URL!);
    try {
      expect((await redis.keys(`${keyPrefix}@throttler*`)).length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('applies @Throttle overrides with their blockDuration, and @SkipThrottle', async () => {
    const strict: ReturnType<typeof seen>[] = [];
    for (let i = 0; i < 3; i++) {
      const answers = await both('/throttled/strict');
      expect(answers.ours).toEqual(answers.theirs);
      strict.push(answers.ours);
    }
    expect(strict.map(({ status }) => status)).toEqual([200, 429, 429]);
    expect(strict[1]!.headers['retry-after']).toBe('120');
    for (let i = 0; i < 6; i++) {
      const answers = await both('/throttled/free');
      expect(answers.ours).toEqual(answers.theirs);
      expect(answers.ours.status).toBe(200);
    }
  });
});
