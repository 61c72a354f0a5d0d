import { metrics } from '@opentelemetry/api';
import type { TestingModule } from '@nestjs/testing';
import { type LimitOptions, RateLimitService } from 'nest-redis-rate-limit';
import { byAttributes, type MetricsProbe, metricsProbe } from '../support/otel-reader.js';
import { useRateLimitModules } from '../support/rate-limit-modules.js';
import { type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';

const QUOTA: LimitOptions = { name: 'quota', scope: 'api', capacity: 2, refill: '2/h' };

const decided = (outcome: string, source: string, shadow = false) =>
  `ratelimit.outcome=${outcome},ratelimit.scope=api,${shadow ? 'ratelimit.shadow=true,' : ''}ratelimit.source=${source}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('metrics through OpenTelemetry', () => {
  let server: RedisServerProcess;
  let probe: MetricsProbe;
  const createModule = useRateLimitModules();

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await server.stop();
  });

  beforeEach(() => {
    probe = metricsProbe();
  });

  afterEach(async () => {
    // A test that failed with Redis paused must not leave it paused for the next one.
    process.kill(server.pid, 'SIGCONT');
    await probe.shutdown();
  });

  const service = async (moduleRef: Promise<TestingModule>) =>
    (await moduleRef).get(RateLimitService);

  it('counts allowed, denied, deny-cache and fail-open decisions exactly, times store calls, and follows the breaker', async () => {
    const rateLimit = await service(
      createModule({
        redis: server.url,
        meterProvider: probe.provider,
        // Long enough for a loaded machine's healthy calls, short enough for the paused ones.
        timeoutMs: 500,
        circuitBreaker: { failureThreshold: 2, cooldownMs: 200 },
      }),
    );
    const gauge = async () => (await probe.points('ratelimit.breaker.state'))[0]?.value;
    expect(await gauge()).toBe(0);

    expect((await rateLimit.consume('user:1', QUOTA)).source).toBe('redis');
    expect((await rateLimit.consume('user:1', QUOTA)).source).toBe('redis');
    expect(await rateLimit.consume('user:1', QUOTA)).toMatchObject({
      allowed: false,
      source: 'redis',
    });
    expect(await rateLimit.consume('user:1', QUOTA)).toMatchObject({
      allowed: false,
      source: 'deny-cache',
    });

    process.kill(server.pid, 'SIGSTOP');
    // Two timeouts open the circuit; the third decision is refused by it without a store call.
    for (let i = 0; i < 3; i++) {
      expect(await rateLimit.consume('user:2', QUOTA)).toMatchObject({
        allowed: true,
        source: 'fail-open',
      });
    }
    expect(await gauge()).toBe(1);
    await sleep(250);
    // After the cool-down one probe goes to the (still paused) store: half-open meanwhile.
    const probing = rateLimit.consume('user:2', QUOTA);
    expect(await gauge()).toBe(2);
    expect((await probing).source).toBe('fail-open');
    expect(await gauge()).toBe(1);

    process.kill(server.pid, 'SIGCONT');
    await sleep(250);
    expect((await rateLimit.consume('user:3', QUOTA)).source).toBe('redis');
    expect(await gauge()).toBe(0);

    expect(byAttributes(await probe.points('ratelimit.decisions'))).toEqual({
      [decided('allowed', 'redis')]: 3,
      [decided('denied', 'redis')]: 1,
      [decided('denied', 'deny-cache')]: 1,
      [decided('allowed', 'fail-open')]: 4,
    });
    expect(byAttributes(await probe.points('ratelimit.denials'))).toEqual({
      'ratelimit.limit=quota,ratelimit.scope=api': 2,
    });
    // Round trips only: not the deny cache's answer, not the call the open circuit refused.
    expect(byAttributes(await probe.points('ratelimit.store.duration'))).toEqual({
      'ratelimit.result=ok': 4,
      'ratelimit.result=timeout': 3,
    });
    const [timeouts] = (await probe.points('ratelimit.store.duration')).filter(
      (point) => point.attributes['ratelimit.result'] === 'timeout',
    );
    const histogram = timeouts!.value as { sum: number; count: number };
    expect(histogram.sum / histogram.count).toBeGreaterThanOrEqual(450);
  }, 20_000);

  it('counts a shadow denial as denied with ratelimit.shadow, and lets it through', async () => {
    const rateLimit = await service(
      createModule({ redis: server.url, meterProvider: probe.provider }),
    );
    const limit: LimitOptions = { ...QUOTA, capacity: 1, shadow: true };
    expect((await rateLimit.consume('user:1', limit)).allowed).toBe(true);
    const shadowed = await rateLimit.consume('user:1', limit);
    expect(shadowed).toMatchObject({ allowed: true, shadow: true, retryAfterMs: 0 });
    expect(shadowed.limits[0]).toMatchObject({ name: 'quota', allowed: false, shadow: true });

    expect(byAttributes(await probe.points('ratelimit.decisions'))).toEqual({
      [decided('allowed', 'redis')]: 1,
      [decided('denied', 'redis', true)]: 1,
    });
    expect(byAttributes(await probe.points('ratelimit.denials'))).toEqual({
      'ratelimit.limit=quota,ratelimit.scope=api,ratelimit.shadow=true': 1,
    });
  });

  it('puts no identity, IP or key in any attribute', async () => {
    const rateLimit = await service(
      createModule({ redis: server.url, meterProvider: probe.provider }),
    );
    for (let i = 0; i < 3; i++) await rateLimit.consume('ip:10.1.2.3', QUOTA);
    for (let i = 0; i < 3; i++) await rateLimit.consume('a secret key', QUOTA);
    const all = [
      ...(await probe.points('ratelimit.decisions')),
      ...(await probe.points('ratelimit.denials')),
      ...(await probe.points('ratelimit.store.duration')),
    ];
    const values = all.flatMap(({ attributes }) => Object.values(attributes).map(String));
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) expect(value).not.toMatch(/10\.1\.2\.3|secret|#|ip:|rl:|test:/);
  });

  it('counts service consumes only, not peeks', async () => {
    const rateLimit = await service(
      createModule({ redis: server.url, meterProvider: probe.provider }),
    );
    await rateLimit.peek('user:1', QUOTA);
    await rateLimit.consume('user:1', QUOTA);
    expect(byAttributes(await probe.points('ratelimit.decisions'))).toEqual({
      [decided('allowed', 'redis')]: 1,
    });
  });

  it('counts a concurrency slot taken and one refused, in the limit scope, the refusal as a denial of the concurrency limit', async () => {
    const rateLimit = await service(
      createModule({ redis: server.url, meterProvider: probe.provider }),
    );
    const held = await rateLimit.acquire('tenant:1', { max: 1, scope: 'api' });
    expect(held.allowed).toBe(true);
    expect((await rateLimit.acquire('tenant:1', { max: 1, scope: 'api' })).allowed).toBe(false);
    await held.release();
    expect(byAttributes(await probe.points('ratelimit.decisions'))).toEqual({
      [decided('allowed', 'redis')]: 1,
      [decided('denied', 'redis')]: 1,
    });
    expect(byAttributes(await probe.points('ratelimit.denials'))).toEqual({
      'ratelimit.limit=in-flight,ratelimit.scope=api': 1,
    });
  });

  it('creates no instrument with metrics: false, even with a MeterProvider', async () => {
    const rateLimit = await service(
      createModule({ redis: server.url, meterProvider: probe.provider, metrics: false }),
    );
    await rateLimit.consume('user:1', QUOTA);
    expect(await probe.meters()).toEqual([]);
  });

  it('uses the global MeterProvider when registered before the module starts', async () => {
    expect(metrics.setGlobalMeterProvider(probe.provider)).toBe(true);
    try {
      const rateLimit = await service(createModule({ redis: server.url }));
      await rateLimit.consume('user:1', QUOTA);
      expect(byAttributes(await probe.points('ratelimit.decisions'))).toEqual({
        [decided('allowed', 'redis')]: 1,
      });
    } finally {
      metrics.disable();
    }
  });

  it('records nothing without a MeterProvider (the API answers with its no-op meter)', async () => {
    const rateLimit = await service(createModule({ redis: server.url }));
    // Registered after the module started: the instruments were never created.
    metrics.setGlobalMeterProvider(probe.provider);
    try {
      await rateLimit.consume('user:1', QUOTA);
      expect(await probe.meters()).toEqual([]);
    } finally {
      metrics.disable();
    }
  });
});
