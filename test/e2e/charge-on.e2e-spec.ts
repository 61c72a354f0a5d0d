import { randomUUID } from 'node:crypto';
import { request as httpRequest, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BadRequestException,
  type CanActivate,
  Controller,
  type ExecutionContext,
  ForbiddenException,
  Get,
  HttpCode,
  Injectable,
  Module,
  Post,
  Query,
  Res,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { MessagePattern, RpcException } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import request from 'supertest';
import { RateLimit, RateLimitModule } from 'nest-redis-rate-limit';
import { AppModule } from '../../sample-app/src/app.module.js';
import { ADAPTERS, type AdapterName, type RunningApp, startApp } from '../support/app-factory.js';
import { type RunningMicroservice, startTcpMicroservice } from '../support/microservice-factory.js';
import { Gate } from '../support/gate.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

/** The app's own guard, after RateLimitGuard: refuses requests that send `x-deny`. */
@Injectable()
class DenyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { headers } = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    if (headers['x-deny'] !== undefined) throw new ForbiddenException();
    return true;
  }
}

const HOURLY = '1/hour';

@Controller('charge')
class ChargeController {
  /** Counts failures only, as a login would. */
  @RateLimit({ capacity: 3, refill: HOURLY, chargeOn: 'failure' })
  @Get('failure')
  failure(@Query('ok') ok?: string): { ok: true } {
    if (ok !== '1') throw new UnauthorizedException();
    return { ok: true };
  }

  /** Counts successes only, as an export quota would. */
  @RateLimit({ capacity: 2, refill: HOURLY, chargeOn: 'success' })
  @HttpCode(201)
  @Post('success')
  success(@Query('ok') ok?: string): { created: true } {
    if (ok !== '1') throw new BadRequestException();
    return { created: true };
  }

  @RateLimit({ capacity: 1, refill: HOURLY, chargeOn: 'failure' })
  @UseGuards(DenyGuard)
  @Get('guarded')
  guarded(): { ok: true } {
    return { ok: true };
  }

  /**
   * With `?wait=1`, answers only once its client has gone (the response closed unsent), so that
   * "went away before the response" is a state the test sets, not a race against a timer.
   */
  @RateLimit({ capacity: 1, refill: HOURLY, chargeOn: 'failure' })
  @Get('abandoned')
  async abandoned(
    @Query('wait') wait: string | undefined,
    @Res({ passthrough: true }) response: ServerResponse | { raw: ServerResponse },
  ): Promise<{ ok: true }> {
    await entered.pass();
    const raw = 'raw' in response ? response.raw : response;
    if (wait === '1') {
      if (!raw.destroyed) await new Promise((closed) => raw.once('close', closed));
      abandonedCalls += 1;
    }
    return { ok: true };
  }
}

/** Counts the calls that reached the `abandoned` handler (always open: nobody waits at it). */
const entered = new Gate();
entered.open();
/** The `?wait=1` calls that saw their client go. */
let abandonedCalls = 0;

describe.each(
  ADAPTERS.flatMap((adapter) => (['redis', 'memory'] as const).map((store) => [adapter, store])),
)('chargeOn on HTTP (%s, %s store)', (adapter, store) => {
  let running: RunningApp;

  beforeEach(async () => {
    @Module({
      imports: [
        RateLimitModule.forRoot({
          keyPrefix: `e2e:${randomUUID()}:`,
          timeoutMs: TEST_TIMEOUT_MS,
          ...(store === 'redis' ? { redis: process.env.REDIS_URL! } : {}),
        }),
      ],
      controllers: [ChargeController],
    })
    class ChargeApp {}
    running = await startApp(adapter as AdapterName, { module: ChargeApp });
  });

  afterEach(async () => {
    await running.close();
  });

  const statuses = async (send: () => request.Test, times: number): Promise<number[]> => {
    const seen: number[] = [];
    for (let i = 0; i < times; i++) seen.push((await send()).status);
    return seen;
  };

  it("'failure': successes are given back, failures count, and a denial still denies", async () => {
    const http = () => request(running.url);
    // Capacity 3, yet any number of successes pass: each charge comes back.
    expect(await statuses(() => http().get('/charge/failure?ok=1'), 6)).toEqual(Array(6).fill(200));
    const first = await http().get('/charge/failure?ok=1');
    // Judged up front like any request: the headers show the charge before it came back.
    expect(first.headers['ratelimit']).toBe('"default";r=2;t=3600');
    expect(await statuses(() => http().get('/charge/failure'), 2)).toEqual([401, 401]);
    // One token left: a success takes it and gives exactly it back (never twice).
    expect((await http().get('/charge/failure?ok=1')).status).toBe(200);
    expect((await http().get('/charge/failure')).status).toBe(401);
    const denied = await http().get('/charge/failure?ok=1');
    expect(denied.status).toBe(429);
    expect(Number(denied.headers['retry-after'])).toBeGreaterThan(0);
  });

  it("'success': failed calls are given back, successes count", async () => {
    const http = () => request(running.url);
    expect(await statuses(() => http().post('/charge/success'), 5)).toEqual(Array(5).fill(400));
    expect(await statuses(() => http().post('/charge/success?ok=1'), 3)).toEqual([201, 201, 429]);
    expect((await http().post('/charge/success')).status).toBe(429);
  });

  it("takes the status whoever set it: another guard's 403 is a failure", async () => {
    expect((await request(running.url).get('/charge/guarded').set('x-deny', '1')).status).toBe(403);
    expect((await request(running.url).get('/charge/guarded')).status).toBe(429);
  });

  it('keeps the charge of a call whose client went away before the response', async () => {
    // Successes come back: capacity 1 passes any number of them.
    expect((await request(running.url).get('/charge/abandoned')).status).toBe(200);
    expect((await request(running.url).get('/charge/abandoned')).status).toBe(200);
    // Charged once the handler runs; the client leaves then, and the handler ends after.
    const before = abandonedCalls;
    const sent = httpRequest(`${running.url}/charge/abandoned?wait=1`);
    sent.on('error', () => undefined);
    sent.end();
    await entered.untilEntered(entered.entered + 1);
    sent.destroy();
    const started = performance.now();
    while (abandonedCalls === before) {
      if (performance.now() - started > 5_000) throw new Error('the server never saw the close');
      await sleep(10);
    }
    // Nothing was sent, so nothing is known: the charge stays.
    expect((await request(running.url).get('/charge/abandoned')).status).toBe(429);
  });
});

@Controller()
class RpcChargeController {
  @RateLimit({ capacity: 2, refill: HOURLY, chargeOn: 'failure' })
  @MessagePattern('login')
  login({ ok }: { ok: boolean }): string {
    if (!ok) throw new RpcException({ statusCode: 401, message: 'Wrong password' });
    return 'token';
  }

  @RateLimit({ capacity: 2, refill: HOURLY, chargeOn: 'success' })
  @MessagePattern('export')
  export({ ok }: { ok: boolean }): string {
    if (!ok) throw new RpcException({ statusCode: 400, message: 'Nothing to export' });
    return 'exported';
  }
}

describe('chargeOn on a TCP microservice (the handler threw or not)', () => {
  let running: RunningMicroservice | undefined;

  beforeEach(async () => {
    @Module({
      imports: [
        RateLimitModule.forRoot({
          redis: process.env.REDIS_URL!,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix: `e2e:${randomUUID()}:`,
        }),
      ],
      controllers: [RpcChargeController],
    })
    class RpcChargeApp {}
    running = await startTcpMicroservice(RpcChargeApp);
  });

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  /** The answer, or the error's statusCode. */
  async function call(pattern: string, ok: boolean): Promise<unknown> {
    try {
      return await lastValueFrom(running!.client.send<string>(pattern, { ok }));
    } catch (error) {
      return (error as { statusCode?: unknown }).statusCode;
    }
  }

  it("'failure': answers that succeed are given back, thrown ones count", async () => {
    for (let i = 0; i < 5; i++) await expect(call('login', true)).resolves.toBe('token');
    await expect(call('login', false)).resolves.toBe(401);
    await expect(call('login', true)).resolves.toBe('token');
    await expect(call('login', false)).resolves.toBe(401);
    await expect(call('login', true)).resolves.toBe(429);
  });

  it("'success': thrown answers are given back, successes count", async () => {
    for (let i = 0; i < 5; i++) await expect(call('export', false)).resolves.toBe(400);
    await expect(call('export', true)).resolves.toBe('exported');
    await expect(call('export', true)).resolves.toBe('exported');
    await expect(call('export', true)).resolves.toBe(429);
  });
});

describe.each(ADAPTERS)('sample app login on %s', (adapter) => {
  let running: RunningApp;
  const LOGIN = { username: 'demo', password: 'demo' };

  beforeEach(async () => {
    running = await startApp(
      adapter,
      AppModule.register({
        redis: process.env.REDIS_URL!,
        timeoutMs: TEST_TIMEOUT_MS,
        keyPrefix: `e2e:${randomUUID()}:`,
      }),
    );
  });

  afterEach(async () => {
    await running.close();
  });

  it('counts failed logins only: successful ones never use up the 3 attempts', async () => {
    const login = (body: object) => request(running.url).post('/auth/login').send(body);
    for (let i = 0; i < 5; i++) expect((await login(LOGIN)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      expect((await login({ ...LOGIN, password: 'guess' })).status).toBe(401);
    }
    // Three failures: even the right password waits now.
    expect((await login(LOGIN)).status).toBe(429);
  });
});
