import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Controller, HttpCode, Module, Post } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';
import request from 'supertest';
import { ConcurrencyLimit, RateLimit, RateLimitModule, SkipRateLimit } from 'nest-redis-rate-limit';
import { ADAPTERS, type RunningApp, startApp } from '../support/app-factory.js';
import { Gate } from '../support/gate.js';
import { type RunningMicroservice, startTcpMicroservice } from '../support/microservice-factory.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

const gate = new Gate();

@Controller('slots')
class SlotsController {
  @ConcurrencyLimit({ max: 2 })
  @HttpCode(201)
  @Post('two')
  async two(): Promise<{ ok: true }> {
    await gate.pass();
    return { ok: true };
  }

  @ConcurrencyLimit({ max: 1, scope: 'one' })
  @HttpCode(201)
  @Post('one')
  async one(): Promise<{ ok: true }> {
    await gate.pass();
    return { ok: true };
  }

  /** Both limits: 2 per hour, 1 at a time. */
  @ConcurrencyLimit({ max: 1 })
  @RateLimit({ capacity: 2, refill: '1/hour' })
  @HttpCode(201)
  @Post('both')
  async both(): Promise<{ ok: true }> {
    await gate.pass();
    return { ok: true };
  }
}

/** A controller's limit covers its handlers; @SkipRateLimit exempts one. */
@ConcurrencyLimit({ max: 1, scope: 'exports' })
@Controller('exports')
class ExportsController {
  @HttpCode(201)
  @Post()
  async start(): Promise<{ ok: true }> {
    await gate.pass();
    return { ok: true };
  }

  @SkipRateLimit()
  @HttpCode(201)
  @Post('unlimited')
  async unlimited(): Promise<{ ok: true }> {
    await gate.pass();
    return { ok: true };
  }
}

/** The slots key of the loopback client under a scope (keys/bucket-key.ts). */
const slotsOf = (prefix: string, scope: string): string =>
  `${prefix}{ip:127.0.0.1}:in-flight:${scope}:in-flight`;

/** Sends a POST and destroys the connection once `ready` resolves, before any answer. */
async function abandon(url: string, ready: Promise<void>): Promise<void> {
  const sent = httpRequest(url, { method: 'POST', agent: false });
  sent.on('error', () => undefined);
  sent.end();
  await ready;
  sent.destroy();
}

describe.each(ADAPTERS)('@ConcurrencyLimit on %s', (adapter) => {
  const apps: RunningApp[] = [];
  let prefix: string;
  let admin: Redis;

  beforeAll(() => {
    admin = new Redis(process.env.REDIS_URL!);
  });
  afterAll(() => admin.disconnect());

  async function start(): Promise<RunningApp> {
    @Module({
      imports: [
        RateLimitModule.forRoot({
          redis: process.env.REDIS_URL!,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix: prefix,
        }),
      ],
      controllers: [SlotsController, ExportsController],
    })
    class SlotsApp {}
    const running = await startApp(adapter, { module: SlotsApp });
    apps.push(running);
    return running;
  }

  beforeEach(() => {
    prefix = `e2e:${randomUUID()}:`;
    void gate.reset();
  });

  afterEach(async () => {
    gate.open();
    await Promise.all(apps.splice(0).map((running) => running.close()));
  });

  it('admits exactly max in flight across two app instances; a slot frees when its response is sent', async () => {
    const [a, b] = [await start(), await start()];
    const first = request(a.url).post('/slots/two');
    const second = request(b.url).post('/slots/two');
    const inFlight = Promise.all([first, second]);
    await gate.untilEntered(2);
    for (const running of [a, b]) {
      const denied = await request(running.url).post('/slots/two');
      expect(denied.status).toBe(429);
      expect(denied.headers['retry-after']).toBe('1');
    }
    expect(gate.entered).toBe(2);
    expect(await admin.zcard(slotsOf(prefix, 'SlotsController.two'))).toBe(2);
    gate.open();
    expect((await inFlight).map(({ status }) => status)).toEqual([201, 201]);
    expect((await request(b.url).post('/slots/two')).status).toBe(201);
    expect(await admin.zcard(slotsOf(prefix, 'SlotsController.two'))).toBe(0);
  });

  it('frees the slot of a client that went away while its handler still runs', async () => {
    const running = await start();
    await abandon(`${running.url}/slots/one`, gate.untilEntered(1));
    // The first handler is still at the gate; the slot it held is free again.
    const next = request(running.url).post('/slots/one');
    const nextDone = next.then((response) => response.status);
    await gate.untilEntered(2);
    expect(gate.finished).toBe(0);
    gate.open();
    expect(await nextDone).toBe(201);
    await sleep(50);
    expect(gate.finished).toBe(2);
    expect(await admin.exists(slotsOf(prefix, 'one'))).toBe(0);
  });

  it("a controller's limit covers its handlers, and @SkipRateLimit exempts one", async () => {
    const running = await start();
    const started = request(running.url)
      .post('/exports')
      .then(({ status }) => status);
    await gate.untilEntered(1);
    expect((await request(running.url).post('/exports')).status).toBe(429);
    const unlimited = [1, 2].map(() =>
      request(running.url)
        .post('/exports/unlimited')
        .then(({ status }) => status),
    );
    await gate.untilEntered(3);
    gate.open();
    expect(await Promise.all([started, ...unlimited])).toEqual([201, 201, 201]);
  });

  it('works beside @RateLimit: a refusal for want of a slot gets its rate charge back', async () => {
    const running = await start();
    // supertest sends on then(): started now.
    const first = request(running.url)
      .post('/slots/both')
      .then(({ status }) => status);
    await gate.untilEntered(1);
    const refused = await request(running.url).post('/slots/both');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    gate.open();
    expect(await first).toBe(201);
    // Two an hour: the first and this one. Had the refused call kept its charge, this would be 429.
    expect((await request(running.url).post('/slots/both')).status).toBe(201);
    // A rate denial is judged before the slot: its Retry-After is the bucket's, not 1 s.
    const rateDenied = await request(running.url).post('/slots/both');
    expect(rateDenied.status).toBe(429);
    expect(Number(rateDenied.headers['retry-after'])).toBeGreaterThan(1_000);
    expect(rateDenied.headers['ratelimit']).toMatch(/^"default";r=0;t=\d+$/);
    expect(gate.entered).toBe(2);
    expect(await admin.exists(slotsOf(prefix, 'SlotsController.both'))).toBe(0);
  });
});

@Controller()
class RpcSlotsController {
  @ConcurrencyLimit({ max: 1, keyBy: () => 'tenant:1' })
  @MessagePattern('report')
  async report(): Promise<string> {
    await gate.pass();
    return 'built';
  }
}

describe('@ConcurrencyLimit on a TCP microservice (the slot is held until the handler ends)', () => {
  let running: RunningMicroservice | undefined;

  beforeEach(async () => {
    void gate.reset();
    @Module({
      imports: [
        RateLimitModule.forRoot({
          redis: process.env.REDIS_URL!,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix: `e2e:${randomUUID()}:`,
        }),
      ],
      controllers: [RpcSlotsController],
    })
    class RpcSlotsApp {}
    running = await startTcpMicroservice(RpcSlotsApp);
  });

  afterEach(async () => {
    gate.open();
    await running?.close();
    running = undefined;
  });

  /** The answer, or the error's statusCode. */
  async function call(): Promise<unknown> {
    try {
      return await lastValueFrom(running!.client.send<string>('report', {}));
    } catch (error) {
      return (error as { statusCode?: unknown }).statusCode;
    }
  }

  it('refuses a second call in flight with 429, and admits the next once the first ends', async () => {
    const first = call();
    await gate.untilEntered(1);
    await expect(call()).resolves.toBe(429);
    gate.open();
    await expect(first).resolves.toBe('built');
    await expect(call()).resolves.toBe('built');
  });
});
