import { randomUUID } from 'node:crypto';
import { Controller, type ExecutionContext, Get, Module } from '@nestjs/common';
import {
  type FailureStrategy,
  RateLimit,
  RateLimitConfigError,
  RateLimitModule,
  RateLimitService,
  type Refill,
} from 'nest-redis-rate-limit';
import request, { type Response } from 'supertest';
import {
  ADAPTERS,
  type AdapterName,
  createApp,
  listenApp,
  type RunningApp,
} from '../support/app-factory.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

type Headers = Record<string, string | undefined>;
const headersOf = (context: ExecutionContext): Headers =>
  context.switchToHttp().getRequest<{ headers: Headers }>().headers;

/** The plans a customer may have, looked up as a database would: asynchronously. */
const PLANS: Record<string, { burst: number; refill: Refill }> = {
  free: { burst: 2, refill: '1/min' },
  pro: { burst: 5, refill: '1/min' },
  fast: { burst: 2, refill: '10/s' },
};
async function planOf(context: ExecutionContext) {
  await Promise.resolve();
  const plan = PLANS[headersOf(context)['x-plan'] ?? 'free'];
  if (plan === undefined) throw new Error('no such plan');
  return plan;
}

const byCustomer = (context: ExecutionContext) => headersOf(context)['x-customer'];

/** A capacity read from `x-capacity` as is: a number, garbage, or 'throw'. */
function capacityHeader(context: ExecutionContext): number {
  const value = headersOf(context)['x-capacity'];
  if (value === 'throw') throw new Error('quota service down');
  return value === undefined ? 2 : Number(value);
}

/** One route per failure strategy, each limited by capacityHeader (and refill 1/min). */
const judgedBy = (failureStrategy: FailureStrategy) => ({
  name: 'quota',
  capacity: capacityHeader,
  refill: '1/min' as const,
  keyBy: byCustomer,
  failureStrategy,
});

@Controller('plans')
class PlansController {
  @RateLimit({
    capacity: async (context) => (await planOf(context)).burst,
    refill: '1/min',
    keyBy: byCustomer,
  })
  @Get('capacity')
  capacity() {
    return 'ok';
  }

  @RateLimit({ capacity: 2, refill: async (context) => (await planOf(context)).refill })
  @Get('refill')
  refill() {
    return 'ok';
  }

  @RateLimit([judgedBy('open'), { name: 'static', capacity: 10, refill: '10/min' }])
  @Get('open')
  open() {
    return 'ok';
  }

  @RateLimit(judgedBy('closed'))
  @Get('closed')
  closed() {
    return 'ok';
  }

  @RateLimit(judgedBy('local'))
  @Get('local')
  local() {
    return 'ok';
  }
}

/** Status and rate-limit headers of a response, compact. */
function summary(response: Response) {
  const headers = response.headers as Headers;
  return {
    status: response.status,
    policy: headers['ratelimit-policy'],
    ratelimit: headers['ratelimit'],
    retryAfter: headers['retry-after'],
  };
}

describe.each(ADAPTERS)('limits worked out per request on %s', (adapter: AdapterName) => {
  let running: RunningApp | undefined;
  let logger: CaptureLogger;

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function start(): Promise<string> {
    @Module({
      imports: [
        RateLimitModule.forRoot({
          redis: process.env.REDIS_URL!,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix: `e2e:${randomUUID()}:`,
        }),
      ],
      controllers: [PlansController],
    })
    class PlansModule {}
    const app = await createApp(adapter, { module: PlansModule });
    logger = new CaptureLogger();
    app.useLogger(logger);
    running = await listenApp(app);
    return running.url;
  }

  const get = (url: string, path: string, headers: Headers) => {
    const call = request(url).get(path);
    for (const [name, value] of Object.entries(headers))
      if (value !== undefined) void call.set(name, value);
    return call;
  };

  const errorLines = () =>
    logger.lines.filter((line) => line.level === 'error').map((line) => line.message);

  it("limits each customer by its plan's capacity and keeps the bucket when the plan changes", async () => {
    const url = await start();
    const as = async (plan: string) =>
      summary(await get(url, '/plans/capacity', { 'x-customer': 'acme', 'x-plan': plan }));
    // Free: 2 tokens, one back a minute.
    expect(await as('free')).toMatchObject({
      status: 200,
      policy: '"default";q=2;w=120',
      ratelimit: '"default";r=1;t=60',
    });
    expect(await as('free')).toMatchObject({ status: 200, ratelimit: '"default";r=0;t=120' });
    expect(await as('free')).toMatchObject({ status: 429, retryAfter: '60' });
    // Upgraded to pro: the same bucket (2 tokens spent) under capacity 5, so 2 left after this one.
    expect(await as('pro')).toMatchObject({
      status: 200,
      policy: '"default";q=5;w=300',
      ratelimit: '"default";r=2;t=180',
    });
    // Back on free: 3 tokens of debt, capped at free's 2: empty, a token in 60 s.
    expect(await as('free')).toMatchObject({
      status: 429,
      policy: '"default";q=2;w=120',
      ratelimit: '"default";r=0;t=120',
      retryAfter: '60',
    });
    // Another customer has its own bucket.
    const other = await get(url, '/plans/capacity', { 'x-customer': 'initech', 'x-plan': 'pro' });
    expect(summary(other)).toMatchObject({ status: 200, ratelimit: '"default";r=4;t=60' });
  });

  it('refills at the rate of the plan in force, and the headers say so', async () => {
    const url = await start();
    const slow = await get(url, '/plans/refill', { 'x-plan': 'free' });
    expect(summary(slow)).toMatchObject({
      policy: '"default";q=2;w=120',
      ratelimit: '"default";r=1;t=60',
    });
    // The same bucket, now at 10 tokens a second: its 60 s of debt is capped at 0.2 s (empty).
    const fast = await get(url, '/plans/refill', { 'x-plan': 'fast' });
    expect(summary(fast)).toMatchObject({
      status: 429,
      policy: '"default";q=2;w=1',
      ratelimit: '"default";r=0;t=1',
      retryAfter: '1',
    });
  });

  it("'open': a capacity function that throws or gives garbage skips its limit, logged, never a 500", async () => {
    const url = await start();
    const throwing = await get(url, '/plans/open', { 'x-customer': 'a', 'x-capacity': 'throw' });
    expect(summary(throwing)).toMatchObject({
      status: 200,
      policy: '"static";q=10;w=60',
      ratelimit: '"static";r=9;t=6',
    });
    const zero = await get(url, '/plans/open', { 'x-customer': 'b', 'x-capacity': '0' });
    expect(summary(zero)).toMatchObject({ status: 200, policy: '"static";q=10;w=60' });
    const working = await get(url, '/plans/open', { 'x-customer': 'c', 'x-capacity': '3' });
    expect(summary(working)).toMatchObject({
      status: 200,
      policy: '"quota";q=3;w=180, "static";q=10;w=60',
    });
    // Logged at once, then at most every 30 s (the second failure is held back).
    expect(errorLines()).toEqual([
      "limit 'quota' of PlansController.open: its capacity function threw Error: quota service down; judged by its failure strategy 'open'",
    ]);
  });

  it("'closed': the request is refused with 503 and Retry-After: 1", async () => {
    const url = await start();
    const throwing = await get(url, '/plans/closed', { 'x-customer': 'a', 'x-capacity': 'throw' });
    expect(summary(throwing)).toEqual({
      status: 503,
      policy: undefined,
      ratelimit: undefined,
      retryAfter: '1',
    });
    expect(throwing.body).toEqual({
      statusCode: 503,
      message: 'Service Unavailable',
      retryAfter: 1,
    });
    const garbage = await get(url, '/plans/closed', { 'x-customer': 'a', 'x-capacity': 'ten' });
    expect(garbage.status).toBe(503);
    expect(errorLines()).toEqual([
      "limit 'quota' of PlansController.closed: its capacity function threw Error: quota service down; judged by its failure strategy 'closed'",
    ]);
  });

  it('logs an invalid value with the rule it breaks', async () => {
    const url = await start();
    await get(url, '/plans/closed', { 'x-customer': 'a', 'x-capacity': '2.5' });
    expect(errorLines()).toEqual([
      "limit 'quota' of PlansController.closed: it gave capacity must be a positive integer up to 1000000000 (got 2.5); judged by its failure strategy 'closed'",
    ]);
  });

  it("'local': the capacity last worked out for the same bucket, else 503", async () => {
    const url = await start();
    const as = async (customer: string, capacity: string) =>
      summary(await get(url, '/plans/local', { 'x-customer': customer, 'x-capacity': capacity }));
    expect(await as('a', '2')).toMatchObject({ status: 200, ratelimit: '"quota";r=1;t=60' });
    // The function fails from now on: customer a is still judged with capacity 2.
    expect(await as('a', 'throw')).toMatchObject({
      status: 200,
      policy: '"quota";q=2;w=120',
      ratelimit: '"quota";r=0;t=120',
    });
    expect(await as('a', 'throw')).toMatchObject({ status: 429, retryAfter: '60' });
    // Customer b was never worked out here: nothing to go by.
    expect(await as('b', 'throw')).toMatchObject({ status: 503, retryAfter: '1' });
  });

  it('RateLimitService refuses a per-request limit: it has no request', async () => {
    await start();
    const service = running!.app.get(RateLimitService);
    const consume = service.consume('user:1', { capacity: () => 5, refill: '5/min' });
    await expect(consume).rejects.toThrow(RateLimitConfigError);
    await expect(consume).rejects.toThrow(
      "RateLimitService.consume: limit 'default': a capacity or refill function needs a request; work out the values first and give them as numbers",
    );
  });
});
