import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Controller, Get, Logger, Module } from '@nestjs/common';
import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { RateLimit, RateLimitModule } from 'nest-redis-rate-limit';
import { ADAPTERS, type RunningApp, startApp } from '../support/app-factory.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

type Request = { headers: Record<string, string | string[] | undefined> };

/** What the `x-cost` header makes the cost function return. */
const COSTS: Readonly<Record<string, unknown>> = {
  huge: 1e300,
  max: Number.MAX_VALUE,
  'over-capacity': 6,
  infinity: Infinity,
  nan: Number.NaN,
  negative: -1,
  string: '2',
  object: { tokens: 2 },
};

@Controller()
class HostileController {
  @RateLimit({ capacity: 5, refill: '5/min', keyBy: 'apiKey' })
  @Get('keyed')
  keyed() {
    return 'ok';
  }

  @RateLimit({
    capacity: 5,
    refill: '5/min',
    keyBy: 'apiKey',
    cost: (context) => {
      const kind = context.switchToHttp().getRequest<Request>().headers['x-cost'];
      return (typeof kind === 'string' && kind in COSTS ? COSTS[kind] : 1) as number;
    },
  })
  @Get('costly')
  costly() {
    return 'ok';
  }
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A GET with raw control over headers: an array value is sent as repeated header lines. */
function get(
  url: string,
  path: string,
  headers: Record<string, string | string[]>,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: 'GET', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
    req.end();
  });
}

/** Remaining tokens `r` of the RateLimit header. */
function remaining(reply: Reply): number {
  const match = /;r=(\d+);/.exec(String(reply.headers['ratelimit']));
  if (match === null) throw new Error(`no RateLimit header: ${JSON.stringify(reply.headers)}`);
  return Number(match[1]);
}

describe.each(ADAPTERS)('hostile input on %s', (adapter) => {
  let running: RunningApp;
  let redis: Redis;
  let logged: string[];
  const keyPrefix = `e2e:${randomUUID()}:`;
  const freshKey = () => `sk_${randomUUID()}`;

  beforeAll(async () => {
    @Module({
      imports: [
        RateLimitModule.forRoot({
          redis: process.env.REDIS_URL!,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix,
        }),
      ],
      controllers: [HostileController],
    })
    class HostileModule {}
    running = await startApp(adapter, { module: HostileModule });
    redis = new Redis(process.env.REDIS_URL!);
  });
  afterAll(async () => {
    await running?.close();
    await redis?.quit();
  });

  // The app logs nothing (logger: false), so every Logger call is caught here instead.
  beforeEach(() => {
    logged = [];
    for (const level of ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
        logged.push(`${level}: ${args.map(String).join(' ')}`);
      });
    }
  });
  afterEach(() => jest.restoreAllMocks());

  async function redisKeys(): Promise<string[]> {
    return redis.keys(`${keyPrefix}*`);
  }

  describe('x-api-key', () => {
    it('accepts a key of exactly 512 characters', async () => {
      const reply = await get(running.url, '/keyed', { 'x-api-key': 'k'.repeat(512) });
      expect(reply.status).toBe(200);
    });

    it('rejects a key of 513 characters with a 400 naming the header and the bound, unlogged and unstored', async () => {
      const key = `secret_${'x'.repeat(506)}`;
      const before = await redisKeys();
      const reply = await get(running.url, '/keyed', { 'x-api-key': key });
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.body)).toMatchObject({
        statusCode: 400,
        message: 'x-api-key header must be at most 512 characters',
      });
      expect(reply.body).not.toContain('secret_');
      expect(logged.join('\n')).not.toContain('secret_');
      expect(logged.filter((line) => line.startsWith('error'))).toEqual([]);
      expect(await redisKeys()).toEqual(before);
    });

    it('rejects an x-api-key sent twice with a 400, never a 500', async () => {
      const reply = await get(running.url, '/keyed', { 'x-api-key': ['secret_a', 'secret_b'] });
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.body)).toMatchObject({
        message: 'x-api-key header must be sent once, as a single value without commas',
      });
      expect(reply.body).not.toContain('secret_');
      expect(logged.join('\n')).not.toContain('secret_');
    });

    it("answers a key beyond Node's 16 KB header limit with the server's 431, never a 500", async () => {
      const reply = await get(running.url, '/keyed', { 'x-api-key': 's'.repeat(20_000) });
      expect(reply.status).toBe(431);
      expect(logged.filter((line) => line.startsWith('error'))).toEqual([]);
    });

    it('still serves normal keys after the hostile ones', async () => {
      const key = freshKey();
      const reply = await get(running.url, '/keyed', { 'x-api-key': key });
      expect(reply.status).toBe(200);
      expect(remaining(reply)).toBe(4);
    });
  });

  describe('cost function', () => {
    it.each(['huge', 'max', 'over-capacity'])(
      'returning a cost above capacity (%s) is denied with 429 and no Retry-After; the bucket still serves normal requests',
      async (kind) => {
        const key = freshKey();
        const denied = await get(running.url, '/costly', { 'x-api-key': key, 'x-cost': kind });
        expect(denied.status).toBe(429);
        expect(denied.headers['retry-after']).toBeUndefined();
        expect(JSON.parse(denied.body)).toMatchObject({ statusCode: 429, retryAfter: -1 });
        expect(remaining(denied)).toBe(5);

        for (let expected = 4; expected >= 0; expected--) {
          const ok = await get(running.url, '/costly', { 'x-api-key': key });
          expect(ok.status).toBe(200);
          expect(remaining(ok)).toBe(expected);
        }
        const full = await get(running.url, '/costly', { 'x-api-key': key });
        expect(full.status).toBe(429);
        expect(Number(full.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(logged.filter((line) => line.startsWith('error'))).toEqual([]);
      },
    );

    // Runs before any other bad cost of this app: the guard logs such errors once a second.
    it('logs a bad cost function result once, naming the limit, not the key', async () => {
      const key = freshKey();
      const reply = await get(running.url, '/costly', { 'x-api-key': key, 'x-cost': 'nan' });
      expect(reply.status).toBe(200);
      const errors = logged.filter((line) => line.startsWith('error'));
      expect(errors).toEqual([
        expect.stringContaining(
          "cost function of limit 'default' returned NaN; it must return a finite number >= 0. Using cost 1",
        ),
      ]);
      expect(logged.join('\n')).not.toContain(key);
    });

    it.each(['infinity', 'nan', 'negative', 'string', 'object'])(
      'returning %s is charged as cost 1',
      async (kind) => {
        const key = freshKey();
        const first = await get(running.url, '/costly', { 'x-api-key': key, 'x-cost': kind });
        expect(first.status).toBe(200);
        expect(remaining(first)).toBe(4);
        const second = await get(running.url, '/costly', { 'x-api-key': key, 'x-cost': kind });
        expect(second.status).toBe(200);
        expect(remaining(second)).toBe(3);
        expect(logged.join('\n')).not.toContain(key);
      },
    );
  });
});
