import {
  buildSampleApp,
  type SampleAppBuild,
  type SampleAppProcess,
  startSampleApp,
} from '../support/sample-app-process.mjs';
import { freePort, type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

const decisions = (outcome: string, source: string) =>
  `ratelimit_decisions_total{ratelimit_scope="PublicController.hello",ratelimit_outcome="${outcome}",` +
  `ratelimit_source="${source}",otel_scope_name="nest-redis-rate-limit"}`;

// What sample-app/README.md shows: main.ts with METRICS_PORT serves the Prometheus scrape.
describe('the sample app process with METRICS_PORT', () => {
  let build: SampleAppBuild | undefined;
  let server: RedisServerProcess | undefined;
  let app: SampleAppProcess | undefined;
  let metricsPort = 0;

  beforeAll(async () => {
    [build, server, metricsPort] = await Promise.all([
      buildSampleApp(),
      startRedisServer(),
      freePort(),
    ]);
    app = await startSampleApp({
      entry: build.entry,
      env: {
        REDIS_URL: server.url,
        METRICS_PORT: String(metricsPort),
        RATE_LIMIT_TIMEOUT_MS: String(TEST_TIMEOUT_MS),
      },
    });
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await server?.stop();
    build?.remove();
  });

  it('serves the rate limiter metrics in Prometheus text', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(`${app!.url}/public`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);

    const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    expect(text).toContain(`${decisions('allowed', 'redis')} 5\n`);
    expect(text).toContain(`${decisions('denied', 'redis')} 1\n`);
    expect(text).toContain(
      'ratelimit_denials_total{ratelimit_scope="PublicController.hello",ratelimit_limit="default",otel_scope_name="nest-redis-rate-limit"} 1\n',
    );
    expect(text).toMatch(/^ratelimit_store_duration_count\{ratelimit_result="ok",[^}]*\} 6$/m);
    expect(text).toContain('ratelimit_breaker_state{otel_scope_name="nest-redis-rate-limit"} 0\n');
    expect(app!.output()).toContain(`Metrics: http://localhost:${metricsPort}/metrics`);
  });
});
