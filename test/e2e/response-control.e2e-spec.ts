import { randomUUID } from 'node:crypto';
import { Controller, Get, Module, Query } from '@nestjs/common';
import {
  RateLimitModule,
  type RateLimitModuleOptions,
  RateLimitService,
  TooManyRequestsException,
} from 'nest-redis-rate-limit';
import request from 'supertest';
import {
  ADAPTERS,
  type AdapterName,
  createApp,
  listenApp,
  type RunningApp,
} from '../support/app-factory.js';

/** The README's RateLimitService example, in a handler. */
@Controller('service')
class ServiceController {
  constructor(private readonly rateLimit: RateLimitService) {}

  @Get()
  async get(@Query('user') user = 'anyone') {
    const decision = await this.rateLimit.consume(`user:${user}`, {
      capacity: 1,
      refill: '1/min',
    });
    if (!decision.allowed) {
      throw new TooManyRequestsException(Math.ceil(decision.retryAfterMs / 1000));
    }
    return 'ok';
  }

  @Get('never')
  never() {
    throw new TooManyRequestsException(-1);
  }
}

describe.each(ADAPTERS)('response control on %s', (adapter: AdapterName) => {
  let running: RunningApp | undefined;

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function start(options: RateLimitModuleOptions = {}): Promise<string> {
    @Module({
      imports: [
        RateLimitModule.forRoot({
          redis: process.env.REDIS_URL!,
          keyPrefix: `e2e:${randomUUID()}:`,
          ...options,
        }),
      ],
      controllers: [ServiceController],
    })
    class ResponseModule {}
    running = await listenApp(await createApp(adapter, { module: ResponseModule }));
    return running.url;
  }

  describe("a TooManyRequestsException of the app's own code", () => {
    it('leaves with its Retry-After header, not only the body', async () => {
      const url = await start();
      const allowed = await request(url).get('/service');
      const denied = await request(url).get('/service');
      expect(allowed.status).toBe(200);
      expect(allowed.headers['retry-after']).toBeUndefined();
      expect(denied.status).toBe(429);
      // One token a minute: the second request waits 60 s, give or take the time between them.
      expect(denied.body).toEqual({
        statusCode: 429,
        message: 'Too Many Requests',
        retryAfter: expect.any(Number) as number,
      });
      const retryAfter = (denied.body as { retryAfter: number }).retryAfter;
      expect(retryAfter).toBeGreaterThanOrEqual(59);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(denied.headers['retry-after']).toBe(String(retryAfter));
    });

    it('leaves without Retry-After when it can never pass (retryAfter -1)', async () => {
      const url = await start();
      const never = await request(url).get('/service/never');
      expect(never.status).toBe(429);
      expect((never.body as { retryAfter: number }).retryAfter).toBe(-1);
      expect(never.headers['retry-after']).toBeUndefined();
    });
  });
});
