import { randomUUID } from 'node:crypto';
import { Controller, Get, Module, type Type, UseGuards } from '@nestjs/common';
import request from 'supertest';
import {
  RateLimit,
  RateLimitGuard,
  RateLimitModule,
  type RateLimitModuleOptions,
} from 'nest-redis-rate-limit';
import { ADAPTERS, type RunningApp, startApp } from '../support/app-factory.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

@Controller('bound-thrice')
@UseGuards(RateLimitGuard)
class BoundThriceController {
  @UseGuards(RateLimitGuard)
  @RateLimit({ capacity: 4, refill: '1/min' })
  @Get()
  get() {
    return 'ok';
  }
}

@Controller('bound-twice')
@UseGuards(RateLimitGuard)
class BoundTwiceController {
  @UseGuards(RateLimitGuard)
  @RateLimit({ capacity: 4, refill: '1/min' })
  @Get()
  get() {
    return 'ok';
  }
}

/** `<status> r=<remaining>` of each of `count` requests, r from the RateLimit header. */
async function answers(url: string, path: string, count: number): Promise<string[]> {
  const result: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await request(url).get(path);
    const header = response.headers['ratelimit'];
    const remaining = typeof header === 'string' ? /;r=(\d+);/.exec(header)?.[1] : undefined;
    result.push(`${response.status} r=${remaining ?? 'none'}`);
  }
  return result;
}

describe.each(ADAPTERS)('one charge per request on %s', (adapter) => {
  let running: RunningApp | undefined;

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function run(controller: Type, options: RateLimitModuleOptions = {}): Promise<string> {
    @Module({
      imports: [
        RateLimitModule.forRoot({
          redis: process.env.REDIS_URL!,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix: `e2e:${randomUUID()}:`,
          ...options,
        }),
      ],
      controllers: [controller],
    })
    class TestModule {}
    running = await startApp(adapter, { module: TestModule });
    return running.url;
  }

  it('charges a route once when the guard is global and also on its controller and handler', async () => {
    const url = await run(BoundThriceController);
    expect(await answers(url, '/bound-thrice', 5)).toEqual([
      '200 r=3',
      '200 r=2',
      '200 r=1',
      '200 r=0',
      '429 r=0',
    ]);
  });

  it('with global: false, charges a route once when the guard is on its controller and handler', async () => {
    const url = await run(BoundTwiceController, { global: false });
    expect(await answers(url, '/bound-twice', 5)).toEqual([
      '200 r=3',
      '200 r=2',
      '200 r=1',
      '200 r=0',
      '429 r=0',
    ]);
  });
});
