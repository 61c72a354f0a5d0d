import { createHash, randomUUID } from 'node:crypto';
import { Controller, Get, Module } from '@nestjs/common';
import request from 'supertest';
import {
  RateLimit,
  type RateLimitEvent,
  RateLimitEvents,
  RateLimitModule,
  type RateLimitModuleOptions,
  RateLimitService,
} from 'nest-redis-rate-limit';
import { ADAPTERS, type AdapterName, type RunningApp, startApp } from '../support/app-factory.js';
import { type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

@Controller('audited')
class AuditedController {
  @RateLimit({ name: 'burst', capacity: 1, refill: '1/h' })
  @Get('ip')
  byIp() {
    return 'ok';
  }

  @RateLimit({ name: 'keyed', capacity: 1, refill: '1/h', keyBy: 'apiKey', scope: 'partners' })
  @Get('key')
  byKey() {
    return 'ok';
  }

  @RateLimit({ name: 'trial', capacity: 1, refill: '1/h', shadow: true })
  @Get('shadow')
  shadow() {
    return 'ok';
  }
}

interface Audited {
  readonly running: RunningApp;
  /** Every event so far, without its decision object (asserted apart). */
  readonly events: Omit<RateLimitEvent, 'decision'>[];
}

async function start(adapter: AdapterName, options: RateLimitModuleOptions): Promise<Audited> {
  @Module({
    imports: [
      RateLimitModule.forRoot({
        keyPrefix: `e2e:${randomUUID()}:`,
        timeoutMs: TEST_TIMEOUT_MS,
        ...options,
      }),
    ],
    controllers: [AuditedController],
  })
  class AuditedModule {}
  const running = await startApp(adapter, { module: AuditedModule });
  const events: Omit<RateLimitEvent, 'decision'>[] = [];
  running.app.get(RateLimitEvents).events$.subscribe((event) => {
    if (event.type === 'breaker') {
      events.push(event);
      return;
    }
    const { decision, ...rest } = event;
    expect(decision.limits.map((limit) => limit.name)).toEqual(expect.arrayContaining(rest.limits));
    events.push(rest);
  });
  return { running, events };
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url');

describe.each(ADAPTERS)('RateLimitEvents on %s', (adapter) => {
  let audited: Audited | undefined;

  afterEach(async () => {
    await audited?.running.close();
    audited = undefined;
  });

  it('emits one event per denial, with route, scope, limits and the identity as keys hold it', async () => {
    audited = await start(adapter, { redis: process.env.REDIS_URL! });
    const { url } = audited.running;
    await request(url).get('/audited/ip').expect(200);
    await request(url).get('/audited/ip').expect(429);
    await request(url).get('/audited/ip').expect(429);
    await request(url).get('/audited/key').set('x-api-key', 'k-123').expect(200);
    await request(url).get('/audited/key').set('x-api-key', 'k-123').expect(429);

    const denial = {
      type: 'denial',
      route: 'AuditedController.byIp',
      scope: 'AuditedController.byIp',
      identity: 'ip:127.0.0.1',
      limits: ['burst'],
      outcome: 'denied',
      shadow: false,
    };
    expect(audited.events).toEqual([
      { ...denial, source: 'redis' },
      { ...denial, source: 'deny-cache' },
      {
        ...denial,
        route: 'AuditedController.byKey',
        scope: 'partners',
        identity: `key:${sha256('k-123')}`,
        limits: ['keyed'],
        source: 'redis',
      },
    ]);
  });

  it('emits a shadow denial for a request only a shadow limit would have denied, and lets it pass', async () => {
    audited = await start(adapter, { redis: process.env.REDIS_URL! });
    const { url } = audited.running;
    await request(url).get('/audited/shadow').expect(200);
    const passed = await request(url).get('/audited/shadow').expect(200);
    expect(passed.headers['ratelimit']).toBe('"trial";r=0;t=3600');
    expect(passed.headers['retry-after']).toBeUndefined();
    expect(audited.events).toEqual([
      {
        type: 'shadow-denial',
        route: 'AuditedController.shadow',
        scope: 'AuditedController.shadow',
        identity: 'ip:127.0.0.1',
        limits: ['trial'],
        outcome: 'denied',
        source: 'redis',
        shadow: true,
      },
    ]);
  });
});

describe('RateLimitEvents when Redis stops answering', () => {
  let server: RedisServerProcess;
  let audited: Audited | undefined;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await server.stop();
  });

  afterEach(async () => {
    process.kill(server.pid, 'SIGCONT');
    await audited?.running.close();
    audited = undefined;
  });

  it('emits the breaker opening and each failure-strategy decision', async () => {
    audited = await start('express', {
      redis: server.url,
      timeoutMs: 50,
      circuitBreaker: { failureThreshold: 1, cooldownMs: 60_000 },
    });
    const { url } = audited.running;
    process.kill(server.pid, 'SIGSTOP');
    await request(url).get('/audited/ip').expect(200);
    await request(url).get('/audited/ip').expect(200);

    const failure = {
      type: 'failure',
      route: 'AuditedController.byIp',
      scope: 'AuditedController.byIp',
      identity: 'ip:127.0.0.1',
      limits: ['burst'],
      outcome: 'allowed',
      source: 'fail-open',
      shadow: false,
    };
    expect(audited.events).toEqual([
      { type: 'breaker', from: 'closed', to: 'open', store: 'redis' },
      failure,
      failure,
    ]);
  });
});

describe('RateLimitEvents of RateLimitService', () => {
  it('names the scope and no route', async () => {
    const { running, events } = await start('express', { redis: process.env.REDIS_URL! });
    try {
      const service = running.app.get(RateLimitService);
      const limit = { name: 'jobs', capacity: 1, refill: '1/h' } as const;
      await service.consume('user:42', limit);
      await service.consume('user:42', limit);
      expect(events).toEqual([
        {
          type: 'denial',
          scope: 'service',
          identity: 'user:42',
          limits: ['jobs'],
          outcome: 'denied',
          source: 'redis',
          shadow: false,
        },
      ]);
    } finally {
      await running.close();
    }
  });
});
