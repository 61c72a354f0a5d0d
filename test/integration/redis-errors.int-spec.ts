import { randomUUID } from 'node:crypto';
import { Controller, Get, type INestApplication, type LoggerService } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import request from 'supertest';
import {
  type LimitOptions,
  RateLimit,
  RateLimitModule,
  type RateLimitDecision,
  RateLimitService,
} from 'nest-redis-rate-limit';
import { RateLimitEngine } from '../../lib/rate-limit.engine.js';
import { type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

const OPEN: LimitOptions = { name: 'open', capacity: 5, refill: '1/hour' };
const CLOSED: LimitOptions = { ...OPEN, name: 'closed', failureStrategy: 'closed' };
/** More failing decisions than the breaker's threshold: these errors must not open it. */
const THRESHOLD = 3;
const DECISIONS = THRESHOLD * 3;

/** A Redis error that is not a loss of availability: how to cause it, undo it, recognise it. */
interface Fault {
  readonly name: string;
  readonly serverArgs: readonly string[];
  /** Causes the fault for writes to `keys` (the buckets the test will use). */
  inject(admin: Redis, keys: readonly string[]): Promise<void>;
  heal(admin: Redis, keys: readonly string[]): Promise<void>;
  readonly error: RegExp;
  /** A peek writes nothing: under OOM Redis still answers it; a clashing type fails it too. */
  readonly peekAnsweredByRedis: boolean;
}

const FAULTS: readonly Fault[] = [
  {
    name: 'OOM (maxmemory reached, noeviction)',
    serverArgs: ['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction'],
    async inject(admin) {
      // One command may take memory past the limit; the next write is refused.
      await admin.setrange('filler', 4 * 1024 * 1024, 'x');
      await expect(admin.set('probe', '1')).rejects.toThrow(/^OOM/);
    },
    async heal(admin) {
      await admin.del('filler');
    },
    error: /OOM command not allowed when used memory > 'maxmemory'/,
    peekAnsweredByRedis: true,
  },
  {
    name: 'WRONGTYPE (a list at the bucket key)',
    serverArgs: [],
    async inject(admin, keys) {
      for (const key of keys) await admin.del(key).then(() => admin.lpush(key, 'clash'));
    },
    async heal(admin, keys) {
      await admin.del(...keys);
    },
    error: /WRONGTYPE Operation against a key holding the wrong kind of value/,
    peekAnsweredByRedis: false,
  },
];

@Controller()
class LimitedController {
  @RateLimit(OPEN)
  @Get('open')
  open() {
    return 'ok';
  }

  @RateLimit(CLOSED)
  @Get('closed')
  closed() {
    return 'ok';
  }
}

/** Keeps every log line, with its context, for assertions. */
class CapturingLogger implements LoggerService {
  readonly lines: { level: string; message: string; context: unknown }[] = [];
  log = this.keep('log');
  warn = this.keep('warn');
  error = this.keep('error');
  debug = this.keep('debug');
  verbose = this.keep('verbose');

  private keep(level: string) {
    return (message: unknown, ...rest: unknown[]) =>
      this.lines.push({ level, message: String(message), context: rest.at(-1) });
  }
}

describe.each(FAULTS)('Redis error that is not availability: $name', (fault) => {
  let server: RedisServerProcess | undefined;
  let admin: Redis | undefined;
  let moduleRef: TestingModule | undefined;
  let app: INestApplication | undefined;
  let logger: CapturingLogger;
  let keyPrefix = '';

  beforeEach(async () => {
    server = await startRedisServer({ args: fault.serverArgs });
    admin = new Redis(server.url, { lazyConnect: true });
    await admin.connect();
    logger = new CapturingLogger();
    keyPrefix = `test:${randomUUID()}:`;
    moduleRef = await Test.createTestingModule({
      imports: [
        RateLimitModule.forRoot({
          redis: server.url,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix,
          circuitBreaker: { failureThreshold: THRESHOLD, cooldownMs: 10_000 },
        }),
      ],
      controllers: [LimitedController],
    })
      .setLogger(logger)
      .compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });

  afterEach(async () => {
    await app?.close();
    admin?.disconnect();
    await server?.stop();
    app = undefined;
    moduleRef = undefined;
    admin = undefined;
    server = undefined;
  });

  const serviceKey = (limit: LimitOptions): string => `${keyPrefix}service:${limit.name}:{user:1}`;

  function expectBreakerClosedAndOneLogLine(): void {
    expect(moduleRef!.get(RateLimitEngine).breaker!.breaker.state).toBe('closed');
    const failures = logger.lines.filter(
      (line) => line.context === 'RateLimit' && line.message.includes('store failed'),
    );
    // Throttled (at most one a second), not one per failed decision.
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures.length).toBeLessThan(DECISIONS);
    for (const failure of failures) {
      expect(failure.level).toBe('warn');
      expect(failure.message).toContain(`key prefix '${keyPrefix}'`);
      expect(failure.message).toMatch(fault.error);
    }
    expect(logger.lines.map((line) => line.message).join('\n')).not.toContain('Circuit breaker');
  }

  it('RateLimitService: consumes follow the failure strategy (open allows, closed denies) with the Redis error on the decision, one log line names the key prefix and the error, the circuit breaker stays closed', async () => {
    const service = app!.get(RateLimitService);
    expect((await service.consume('user:1', OPEN)).storeError).toBeUndefined();
    expect((await service.consume('user:1', CLOSED)).storeError).toBeUndefined();

    await fault.inject(admin!, [serviceKey(OPEN), serviceKey(CLOSED)]);
    const decisions: RateLimitDecision[] = [];
    for (let i = 0; i < DECISIONS; i++) decisions.push(await service.consume('user:1', OPEN));
    for (const decision of decisions) {
      expect(decision.allowed).toBe(true);
      expect(decision.storeError?.failure).toBe('error');
      // Each one was Redis's answer, not the breaker's: the error is Redis's own.
      expect(decision.storeError?.message).toMatch(fault.error);
    }
    const closed = await service.consume('user:1', CLOSED);
    expect(closed.allowed).toBe(false);
    expect(closed.storeError?.message).toMatch(fault.error);

    const peek = await service.peek('user:1', OPEN);
    expect(peek.storeError === undefined).toBe(fault.peekAnsweredByRedis);
    if (fault.peekAnsweredByRedis) expect(peek.remaining).toBe(4);
    expectBreakerClosedAndOneLogLine();

    await fault.heal(admin!, [serviceKey(OPEN), serviceKey(CLOSED)]);
    const healed = await service.consume('user:1', OPEN);
    expect(healed.storeError).toBeUndefined();
  });

  it('guard: 503 with Retry-After: 1 on a fail-closed route, 200 on a fail-open route, no circuit opened; Redis decides again once the fault is gone', async () => {
    const http = app!.getHttpServer() as Parameters<typeof request>[0];
    await request(http).get('/open').expect(200);
    await request(http).get('/closed').expect(200);
    const keys = await admin!.keys(`${keyPrefix}*`);
    expect(keys).toHaveLength(2);

    await fault.inject(admin!, keys);
    for (let i = 0; i < DECISIONS; i++) {
      const open = await request(http).get('/open').expect(200);
      // No decision was made by Redis, so there are no numbers to report.
      expect(open.headers['ratelimit']).toBeUndefined();
    }
    const closed = await request(http).get('/closed').expect(503);
    expect(closed.headers['retry-after']).toBe('1');
    expect(closed.body).toEqual({
      statusCode: 503,
      message: 'Service Unavailable',
      retryAfter: 1,
    });
    expectBreakerClosedAndOneLogLine();

    await fault.heal(admin!, keys);
    await request(http).get('/closed').expect(200);
    const open = await request(http).get('/open').expect(200);
    expect(open.headers['ratelimit']).toMatch(/^"open";r=\d+;t=\d+$/);
  });
});
