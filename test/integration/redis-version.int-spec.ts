import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Controller,
  type DynamicModule,
  Get,
  type INestApplication,
  type ModuleMetadata,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { WsAdapter } from '@nestjs/platform-ws';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Redis } from 'ioredis';
import request from 'supertest';
import {
  type LimitOptions,
  RateLimit,
  RateLimitConfigError,
  RateLimitModule,
  type RateLimitModuleOptions,
  RateLimitService,
} from 'nest-redis-rate-limit';
import type { BucketRequest } from '../../lib/algorithms/algorithm.interface.js';
import { BUCKET_LUA, runBucketScripts } from '../../lib/algorithms/bucket-script.js';
import { fixedWindow } from '../../lib/algorithms/fixed-window/fixed-window.js';
import { defineLuaCommand } from '../../lib/algorithms/lua-command.js';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import { RateLimitEngine } from '../../lib/rate-limit.engine.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { freePort, type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';
import { useRedisServices } from '../support/redis-services.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

/**
 * The fixed window reads its key's expiry with PEXPIRETIME, which Redis has since 7.0. On an older
 * server its decisions must fail with a RateLimitConfigError, whatever the failure strategy: failing
 * open would leave the limit unenforced for good, and counting the errors would open the circuit
 * breaker and take every other limit off Redis too. The suite's redis-server has PEXPIRETIME
 * renamed away, as a server older than 7.0 lacks it: a real server, with the real error.
 */
const WITHOUT_PEXPIRETIME = ['--rename-command', 'PEXPIRETIME', ''];
/** More failing decisions than the breaker's threshold: these errors must not open it. */
const THRESHOLD = 3;
const DECISIONS = THRESHOLD * 3;
const NEEDS_7 =
  /^Redis: algorithm 'fixed-window' needs Redis 7\.0 or later: this server lacks a command it uses \(ERR Unknown Redis command called from script/;

const WINDOW: LimitOptions = {
  name: 'window',
  algorithm: 'fixed-window',
  capacity: 100,
  windowMs: 3_600_000,
};
const BUCKET: LimitOptions = { name: 'bucket', capacity: 100, refill: '100/hour' };

@Controller()
class LimitedController {
  @RateLimit(WINDOW)
  @Get('window')
  window() {
    return 'ok';
  }

  @RateLimit(BUCKET)
  @Get('bucket')
  bucket() {
    return 'ok';
  }
}

@Controller()
class BucketOnlyController {
  @RateLimit(BUCKET)
  @Get('bucket-only')
  bucket() {
    return 'ok';
  }
}

/** A gateway is a provider, not a controller: its limits count too. */
@WebSocketGateway()
class WindowedGateway {
  @RateLimit(WINDOW)
  @SubscribeMessage('ping')
  ping() {
    return 'pong';
  }
}

describe('an algorithm the Redis server is too old for', () => {
  const redis = useRedisServices({ serverArgs: WITHOUT_PEXPIRETIME });

  it.each(['open', 'closed', 'local'] as const)(
    "RateLimitService (failure strategy '%s'): a fixed-window decision rejects with RateLimitConfigError instead of passing; a token bucket judged in the same turn stands; the circuit breaker stays closed",
    async (failureStrategy) => {
      const moduleRef = await redis.module({
        failureStrategy,
        circuitBreaker: { failureThreshold: THRESHOLD, cooldownMs: 60_000 },
      });
      const service = moduleRef.get(RateLimitService);
      // The first hit of a key writes it (SET ... PXAT is older than PEXPIRETIME)...
      expect((await service.consume('user:1', WINDOW)).allowed).toBe(true);
      // ...the next one must read its expiry, and fails, alone in its batch.
      for (let i = 0; i < DECISIONS; i++) {
        const [window, bucket] = await Promise.allSettled([
          service.consume('user:1', WINDOW),
          service.consume('user:1', BUCKET),
        ]);
        expect(window.status).toBe('rejected');
        const error = (window as PromiseRejectedResult).reason as unknown;
        expect(error).toBeInstanceOf(RateLimitConfigError);
        expect((error as Error).message).toMatch(NEEDS_7);
        expect(bucket).toMatchObject({
          status: 'fulfilled',
          value: { allowed: true, remaining: 99 - i },
        });
        // Judged by Redis, not by the failure strategy.
        expect(
          (bucket as PromiseFulfilledResult<{ storeError?: unknown }>).value.storeError,
        ).toBeUndefined();
      }
      // A route mixing both is refused as a whole: it charges nothing.
      await expect(service.consume('user:1', [BUCKET, WINDOW])).rejects.toThrow(NEEDS_7);
      expect((await service.peek('user:1', BUCKET)).remaining).toBe(100 - DECISIONS);
      expect(moduleRef.get(RateLimitEngine).breaker!.breaker.state).toBe('closed');
    },
  );

  it('a shadow fixed window beside an enforced token bucket: rejects as a route of both does, and the enforced bucket is charged nothing', async () => {
    const moduleRef = await redis.module({});
    const service = moduleRef.get(RateLimitService);
    const shadowWindow: LimitOptions = { ...WINDOW, shadow: true };
    // The window's first hit writes it; from the next one on it cannot be judged.
    expect((await service.consume('user:2', [BUCKET, shadowWindow])).allowed).toBe(true);
    for (let i = 0; i < 3; i++) {
      await expect(service.consume('user:2', [BUCKET, shadowWindow])).rejects.toThrow(NEEDS_7);
    }
    // The enforced bucket was taken before the shadow window failed, and given back.
    expect((await service.peek('user:2', BUCKET)).remaining).toBe(99);
  });

  /** The global RateLimitModule of these apps, on this suite's server unless `options` says. */
  const globalModule = (options: RateLimitModuleOptions = {}): DynamicModule =>
    RateLimitModule.forRoot({
      redis: redis.url(),
      timeoutMs: TEST_TIMEOUT_MS,
      keyPrefix: `test:${randomUUID()}:`,
      circuitBreaker: { failureThreshold: THRESHOLD, cooldownMs: 60_000 },
      ...options,
    });

  /** An app of `rateLimit` and `classes` (LimitedController by default), and its log. */
  async function createApp(
    rateLimit: DynamicModule,
    classes: Pick<ModuleMetadata, 'controllers' | 'providers'> = {
      controllers: [LimitedController],
    },
  ): Promise<{ app: INestApplication; logger: CaptureLogger }> {
    const moduleRef = await Test.createTestingModule({
      imports: [rateLimit],
      ...classes,
    }).compile();
    const logger = new CaptureLogger();
    moduleRef.useLogger(logger);
    return { app: moduleRef.createNestApplication(), logger };
  }

  it('an app whose routes use a fixed window refuses to start, naming the routes', async () => {
    const { app } = await createApp(globalModule());
    try {
      await expect(app.init()).rejects.toThrow(
        new RateLimitConfigError('Redis', [
          "algorithm 'fixed-window' needs Redis 7.0 or later (this server lacks PEXPIRETIME); " +
            "used by LimitedController.window ('window')",
        ]),
      );
    } finally {
      await app.close();
    }
  });

  it('so does one whose module comes from forRootAsync', async () => {
    const { app } = await createApp(
      RateLimitModule.forRootAsync({
        useFactory: () => ({
          redis: redis.url(),
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix: `test:${randomUUID()}:`,
        }),
      }),
    );
    try {
      await expect(app.init()).rejects.toThrow(/used by LimitedController\.window \('window'\)$/);
    } finally {
      await app.close();
    }
  });

  it("so does one whose gateway's handler uses one", async () => {
    const { app } = await createApp(globalModule(), { providers: [WindowedGateway] });
    app.useWebSocketAdapter(new WsAdapter(app));
    try {
      await expect(app.init()).rejects.toThrow(/used by WindowedGateway\.ping \('window'\)$/);
    } finally {
      await app.close();
    }
  });

  it('so does one whose defaultLimit is a fixed window; one using token buckets only starts', async () => {
    const windowed = await createApp(globalModule({ defaultLimit: WINDOW }), {
      controllers: [BucketOnlyController],
    });
    try {
      await expect(windowed.app.init()).rejects.toThrow(
        /^Redis: algorithm 'fixed-window' needs Redis 7\.0 or later \(this server lacks PEXPIRETIME\); used by defaultLimit \('window'\)$/,
      );
    } finally {
      await windowed.app.close();
    }
    const buckets = await createApp(globalModule(), { controllers: [BucketOnlyController] });
    try {
      await buckets.app.init();
      const http = buckets.app.getHttpServer() as Parameters<typeof request>[0];
      const answer = await request(http).get('/bucket-only').expect(200);
      expect(answer.headers['ratelimit']).toBe('"bucket";r=99;t=36');
    } finally {
      await buckets.app.close();
    }
  });

  it('guard, when Redis could not be asked at start-up: 500 on a fixed-window route (never a pass), the token-bucket route still judged by Redis', async () => {
    // Nothing listens on the port while the app starts: the check cannot ask, says so, and lets
    // the app start; the server that comes up there later lacks PEXPIRETIME.
    const port = await freePort();
    const { app, logger } = await createApp(
      globalModule({
        redis: `redis://127.0.0.1:${port}`,
        readyWaitMs: 200,
        // The failures before the server is up open the circuit; it must close soon after.
        circuitBreaker: { failureThreshold: THRESHOLD, cooldownMs: 200 },
      }),
    );
    let late: RedisServerProcess | undefined;
    try {
      await app.init();
      expect(logger.containing('Could not ask Redis at start-up')).toHaveLength(1);
      late = await startRedisServer({ port, args: WITHOUT_PEXPIRETIME });
      const http = app.getHttpServer() as Parameters<typeof request>[0];
      // Until the client reconnects the failure strategy answers, without headers.
      const started = performance.now();
      while ((await request(http).get('/bucket')).headers['ratelimit'] === undefined) {
        if (performance.now() - started > 10_000) throw new Error('never judged by Redis');
        await sleep(50);
      }
      await request(http).get('/window').expect(200);
      for (let i = 0; i < DECISIONS; i++) {
        await request(http).get('/window').expect(500);
        const bucket = await request(http).get('/bucket').expect(200);
        expect(bucket.headers['ratelimit']).toBe(`"bucket";r=${98 - i};t=${36 * (i + 2)}`);
      }
    } finally {
      await app.close();
      await late?.stop();
    }
  });

  it('before Redis 7.0 (no redis.REDIS_VERSION_NUM), the script fails on the first hit of a key and writes nothing', async () => {
    const client = new Redis(redis.url());
    try {
      // The bucket script as a server older than 7.0 runs it; the same command name, so
      // runBucketScripts sends it.
      defineLuaCommand(
        client,
        'nrrlBuckets',
        BUCKET_LUA.replaceAll('redis.REDIS_VERSION_NUM', 'nil'),
      );
      const id = randomUUID();
      const window: BucketRequest = {
        key: `t:w:{${id}}`,
        rule: { algorithm: fixedWindow, capacity: 5, windowUs: 3_600_000_000 },
        cost: 1,
      };
      const bucket: BucketRequest = {
        key: `t:b:{${id}}`,
        rule: { algorithm: tokenBucket, capacity: 5, usPerToken: 1_000_000 },
        cost: 1,
      };
      const [first, second] = await runBucketScripts(client, [
        { requests: [bucket, window], mode: 'consume' },
        { requests: [bucket], mode: 'consume' },
      ]);
      expect(first).toBeInstanceOf(RateLimitConfigError);
      expect((first as Error).message).toMatch(NEEDS_7);
      expect(second).toEqual([expect.objectContaining({ remaining: 4 })]);
      // The failed decision wrote neither of its buckets; the other decision wrote its own.
      expect(await redis.admin().exists(window.key)).toBe(0);
      expect(await redis.admin().get(bucket.key)).not.toBeNull();
    } finally {
      client.disconnect();
    }
  });
});
