import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import {
  RateLimit,
  RateLimitModule,
  type RateLimitModuleOptions,
  RateLimitService,
} from 'nest-redis-rate-limit';
import { CaptureLogger } from '../support/capture-logger.js';
import { freePort, startRedisServer } from '../support/redis-process.mjs';

@Controller('limited')
class LimitedController {
  @RateLimit({ capacity: 5, refill: '5/min' })
  @Get()
  get(): string {
    return 'ok';
  }
}

/** An Express app on the module options, with every log line kept; `before` runs before init. */
async function boot(
  options: RateLimitModuleOptions,
  before: (app: NestExpressApplication) => void = () => {},
): Promise<{ app: INestApplication; logger: CaptureLogger }> {
  @Module({
    imports: [RateLimitModule.forRoot({ keyPrefix: `ops:${randomUUID()}:`, ...options })],
    controllers: [LimitedController],
  })
  class TestModule {}
  const logger = new CaptureLogger();
  const app = await NestFactory.create<NestExpressApplication>(TestModule, new ExpressAdapter(), {
    logger,
    abortOnError: false,
  });
  before(app);
  await app.init();
  return { app, logger };
}

describe('what an operator sees in the logs', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('one start-up line names the store by host and port, never its password', async () => {
    const port = await freePort();
    const booted = await boot({
      redis: `redis://admin:s3cret-pass@127.0.0.1:${port}`,
      readyWaitMs: 0,
    });
    app = booted.app;
    const lines = booted.logger.containing('Rate limits are judged in');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toContain(`redis at 127.0.0.1:${port}`);
    expect(booted.logger.lines.some((line) => line.message.includes('s3cret-pass'))).toBe(false);
  });

  it('the start-up line names the memory store when no redis is configured', async () => {
    const booted = await boot({});
    app = booted.app;
    const lines = booted.logger.containing('Rate limits are judged in');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toContain('in-process memory store');
  });

  it("warns at start-up when Express trusts every proxy ('trust proxy' true)", async () => {
    const booted = await boot({}, (express) => express.set('trust proxy', true));
    app = booted.app;
    expect(booted.logger.containing("Express 'trust proxy' is true")).toHaveLength(1);
  });

  it('says nothing about trust proxy when it names the proxies', async () => {
    const booted = await boot({}, (express) => express.set('trust proxy', '127.0.0.1'));
    app = booted.app;
    expect(booted.logger.containing('trust proxy')).toHaveLength(0);
  });

  describe('a Redis that accepts connections but never answers', () => {
    let silent: Server;
    let port: number;
    const sockets: Socket[] = [];

    beforeAll(async () => {
      port = await freePort();
      silent = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it('readyWaitMs bounds the start: the app starts, and decisions follow the failure strategy', async () => {
      const booted = await boot({
        redis: `redis://127.0.0.1:${port}`,
        readyWaitMs: 200,
        failureStrategy: 'closed',
      });
      app = booted.app;
      const service = app.get(RateLimitService);
      const decision = await service.consume('user:1', { capacity: 1, refill: '1/min' });
      expect(decision).toMatchObject({ allowed: false, source: 'fail-closed' });
    });
  });

  it("a stopped Redis's failures are logged once, without ioredis's maxRetriesPerRequest advice", async () => {
    const server = await startRedisServer();
    try {
      const booted = await boot({ redis: server.url, circuitBreaker: false });
      app = booted.app;
      const service = app.get(RateLimitService);
      const limit = { capacity: 100, refill: '1/min' } as const;
      await expect(service.consume('user:1', limit)).resolves.toMatchObject({ source: 'redis' });
      await server.stop();
      for (let i = 0; i < 20; i++) {
        const decision = await service.consume('user:1', limit);
        expect(decision.source).toBe('fail-open');
      }
      const failures = booted.logger.containing('store failed');
      expect(failures).toHaveLength(1);
      const all = booted.logger.lines.map((line) => line.message).join('\n');
      expect(all).not.toContain('maxRetriesPerRequest');
    } finally {
      await server.stop();
    }
  });
});
