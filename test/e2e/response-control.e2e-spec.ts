import { randomUUID } from 'node:crypto';
import {
  Controller,
  type ExecutionContext,
  Get,
  HttpException,
  Module,
  Query,
} from '@nestjs/common';
import {
  RateLimit,
  RateLimitConfigError,
  type RateLimitDecision,
  RateLimitHeaders,
  RateLimitModule,
  type RateLimitModuleOptions,
  RateLimitService,
  TooManyRequestsException,
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

@Controller('headers')
class HeadersController {
  /** After one request: burst 4 of 5 left, hourly 1 of 2 (the most restrictive). */
  @RateLimit([
    { name: 'burst', capacity: 5, refill: '5/s' },
    { name: 'hourly', capacity: 2, refill: '2/h' },
  ])
  @Get('two')
  two() {
    return 'ok';
  }

  @RateLimitHeaders('legacy')
  @RateLimit({ capacity: 2, refill: '2/min' })
  @Get('legacy')
  legacy() {
    return 'ok';
  }
}

/** The class says no headers; one handler says both. */
@RateLimitHeaders(false)
@RateLimit({ capacity: 1, refill: '1/min' })
@Controller('quiet')
class QuietController {
  @Get()
  get() {
    return 'ok';
  }

  @RateLimitHeaders('both')
  @Get('both')
  both() {
    return 'ok';
  }
}

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
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix: `e2e:${randomUUID()}:`,
          ...options,
        }),
      ],
      controllers: [ServiceController, HeadersController, QuietController],
    })
    class ResponseModule {}
    const app = await createApp(adapter, { module: ResponseModule });
    app.useLogger(logger);
    running = await listenApp(app);
    return running.url;
  }

  let logger: CaptureLogger;
  beforeEach(() => {
    logger = new CaptureLogger();
  });

  /** The rate-limit headers of a response, by lower-case name; absent ones left out. */
  function rateLimitHeaders(response: Response): Record<string, string> {
    const names = [
      'ratelimit-policy',
      'ratelimit',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
      'retry-after',
    ];
    const headers = response.headers as Record<string, string | undefined>;
    return Object.fromEntries(
      names.flatMap((name) => (headers[name] === undefined ? [] : [[name, headers[name]]])),
    );
  }

  /** GETs `path`, with the epoch-second range X-RateLimit-Reset may take if full in `resetMs`. */
  async function getTimed(url: string, path: string, resetMs: number) {
    const beforeMs = Date.now();
    const response = await request(url).get(path);
    const afterMs = Date.now();
    const reset = Number((response.headers as Record<string, string>)['x-ratelimit-reset']);
    return {
      response,
      reset,
      resetRange: [Math.ceil((beforeMs + resetMs) / 1000), Math.ceil((afterMs + resetMs) / 1000)],
    };
  }

  describe('headers', () => {
    it('sends the draft-10 fields by default (headers: true), one item per limit', async () => {
      const url = await start();
      const response = await request(url).get('/headers/two');
      expect(rateLimitHeaders(response)).toEqual({
        'ratelimit-policy': '"burst";q=5;w=1, "hourly";q=2;w=3600',
        ratelimit: '"burst";r=4;t=1, "hourly";r=1;t=1800',
      });
    });

    it("'legacy' sends X-RateLimit-* of the most restrictive limit, Reset in UTC epoch seconds", async () => {
      const url = await start({ headers: 'legacy' });
      // hourly: one token of 2 per hour taken, full again in 1800 s.
      const { response, reset, resetRange } = await getTimed(url, '/headers/two', 1_800_000);
      expect(rateLimitHeaders(response)).toEqual({
        'x-ratelimit-limit': '2',
        'x-ratelimit-remaining': '1',
        'x-ratelimit-reset': String(reset),
      });
      expect(reset).toBeGreaterThanOrEqual(resetRange[0]!);
      expect(reset).toBeLessThanOrEqual(resetRange[1]!);
    });

    it("'both' sends the five headers; a denial adds Retry-After", async () => {
      const url = await start({ headers: 'both' });
      // hourly is full again 3600 s after its first take, which happens after this.
      const firstSentAtMs = Date.now();
      const first = await request(url).get('/headers/two');
      expect(rateLimitHeaders(first)).toMatchObject({
        ratelimit: '"burst";r=4;t=1, "hourly";r=1;t=1800',
        'x-ratelimit-limit': '2',
        'x-ratelimit-remaining': '1',
      });
      await request(url).get('/headers/two');
      // hourly is empty: full again 3600 s after the first request, its next token in 1800 s.
      const { response, reset, resetRange } = await getTimed(url, '/headers/two', 3_600_000);
      expect(response.status).toBe(429);
      expect(rateLimitHeaders(response)).toEqual({
        'ratelimit-policy': '"burst";q=5;w=1, "hourly";q=2;w=3600',
        // Tokens return while the requests travel: burst may have one more, hourly a second less.
        ratelimit: expect.stringMatching(
          /^"burst";r=[34];t=1, "hourly";r=0;t=(3600|3599)$/,
        ) as string,
        'x-ratelimit-limit': '2',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(reset),
        // A second less, as hourly's t, when the three requests spanned a second.
        'retry-after': expect.stringMatching(/^(1800|1799)$/) as string,
      });
      expect(reset).toBeGreaterThanOrEqual(Math.ceil((firstSentAtMs + 3_600_000) / 1000));
      expect(reset).toBeLessThanOrEqual(resetRange[1]!);
    });

    it('false sends none, but a denial still carries Retry-After', async () => {
      const url = await start({ headers: false });
      expect(rateLimitHeaders(await request(url).get('/headers/two'))).toEqual({});
      const limited = await request(url).get('/quiet');
      const denied = await request(url).get('/quiet');
      expect(rateLimitHeaders(limited)).toEqual({});
      expect(denied.status).toBe(429);
      expect(rateLimitHeaders(denied)).toEqual({ 'retry-after': '60' });
    });

    it("@RateLimitHeaders overrides the module's, the handler's over the controller's", async () => {
      const url = await start({ headers: 'both' });
      const { response, reset, resetRange } = await getTimed(url, '/headers/legacy', 30_000);
      expect(rateLimitHeaders(response)).toEqual({
        'x-ratelimit-limit': '2',
        'x-ratelimit-remaining': '1',
        'x-ratelimit-reset': String(reset),
      });
      expect(reset).toBeGreaterThanOrEqual(resetRange[0]!);
      expect(reset).toBeLessThanOrEqual(resetRange[1]!);
      expect(rateLimitHeaders(await request(url).get('/quiet'))).toEqual({});
      expect(Object.keys(rateLimitHeaders(await request(url).get('/quiet/both')))).toEqual([
        'ratelimit-policy',
        'ratelimit',
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
      ]);
    });

    it('refuses a bad mode when the class is loaded, and in the module options at init', async () => {
      expect(() =>
        RateLimitHeaders('draft-11' as never)(QuietController.prototype, 'get', {
          value: () => 'x',
        }),
      ).toThrow(
        new RateLimitConfigError('@RateLimitHeaders on QuietController.get', [
          `mode must be true, false, 'draft-10', 'legacy' or 'both' (got "draft-11")`,
        ]),
      );
      await expect(start({ headers: 'yes' as never })).rejects.toThrow(
        `headers must be true, false, 'draft-10', 'legacy' or 'both' (got "yes")`,
      );
    });
  });

  describe('exceptionFactory', () => {
    /** The README's example: an RFC 9457 problem on HTTP, the transport's own error elsewhere. */
    const problemJson = (decision: RateLimitDecision, context: ExecutionContext) => {
      if (context.getType() !== 'http') return undefined;
      const http = context.switchToHttp();
      http
        .getResponse<{ header(name: string, value: string): unknown }>()
        .header('Content-Type', 'application/problem+json');
      return new HttpException(
        {
          type: 'https://example.com/problems/rate-limited',
          title: 'Too Many Requests',
          status: 429,
          detail: `Try again in ${Math.ceil(decision.retryAfterMs / 1000)} s`,
          instance: http.getRequest<{ url: string }>().url,
        },
        429,
      );
    };

    it("refuses with the app's own error; headers and Retry-After are still set", async () => {
      const url = await start({ exceptionFactory: problemJson, headers: 'both' });
      await request(url).get('/quiet/both');
      const denied = await request(url).get('/quiet/both');
      expect(denied.status).toBe(429);
      expect(denied.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(denied.text)).toEqual({
        type: 'https://example.com/problems/rate-limited',
        title: 'Too Many Requests',
        status: 429,
        detail: 'Try again in 60 s',
        instance: '/quiet/both',
      });
      expect(rateLimitHeaders(denied)).toMatchObject({
        'ratelimit-policy': '"default";q=1;w=60',
        'x-ratelimit-remaining': '0',
        'retry-after': '60',
      });
    });

    it('keeps the default 429 when it returns undefined', async () => {
      const url = await start({ exceptionFactory: () => undefined });
      await request(url).get('/quiet');
      const denied = await request(url).get('/quiet');
      expect(denied.status).toBe(429);
      expect(denied.body).toEqual({
        statusCode: 429,
        message: 'Too Many Requests',
        retryAfter: 60,
      });
    });

    it('logs a factory that throws and refuses with the default 429, never a 500', async () => {
      const url = await start({
        exceptionFactory: () => {
          throw new TypeError('no template');
        },
      });
      await request(url).get('/quiet');
      const denied = await request(url).get('/quiet');
      expect(denied.status).toBe(429);
      expect(denied.headers['retry-after']).toBe('60');
      expect(logger.lines).toContainEqual({
        level: 'error',
        context: 'RateLimit',
        message:
          'exceptionFactory threw TypeError: no template; it must return an Error or undefined. Using the default error',
      });
    });

    it('refuses a factory that is not a function at init', async () => {
      await expect(start({ exceptionFactory: 'problem' as never })).rejects.toThrow(
        'exceptionFactory must be a function (decision, context) => Error (got "problem")',
      );
    });
  });

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
