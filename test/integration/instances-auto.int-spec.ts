import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { HEARTBEAT_MS } from '../../lib/pipeline/instance-registry.layer.js';
import { type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';
import { statusOf } from '../support/status-of.js';
import {
  buildSampleApp,
  type SampleAppBuild,
  type SampleAppProcess,
  startSampleApps,
} from '../support/sample-app-process.mjs';
import { redisTimeUs } from '../support/redis-time.js';

/** The sample app's module uses the default key prefix. */
const INSTANCES_KEY = 'rl:{~fleet}:instances';

async function untilLive(admin: Redis, count: number, withinMs: number): Promise<void> {
  const started = performance.now();
  while ((await admin.zcard(INSTANCES_KEY)) !== count) {
    if (performance.now() - started > withinMs) {
      throw new Error(`${await admin.zcard(INSTANCES_KEY)} live instances, not ${count}`);
    }
    await sleep(50);
  }
}

describe("instances: 'auto' with 3 sample-app processes", () => {
  let build: SampleAppBuild;
  let server: RedisServerProcess | undefined;
  let apps: SampleAppProcess[] = [];
  let admin: Redis | undefined;

  beforeAll(async () => {
    build = await buildSampleApp();
  }, 120_000);
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    admin?.disconnect();
    await server?.stop();
    build?.remove();
  });

  it('during an outage, each instance still running enforces capacity / the 2 it last saw live', async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
    apps = await startSampleApps(3, {
      entry: build.entry,
      env: {
        REDIS_URL: server.url,
        RATE_LIMIT_FAILURE_STRATEGY: 'local',
        RATE_LIMIT_INSTANCES: 'auto',
        // A heartbeat late on a loaded machine must still count; stopped, Redis fails at once.
        RATE_LIMIT_TIMEOUT_MS: String(TEST_TIMEOUT_MS),
      },
    });
    await untilLive(admin, 3, 5_000);

    // One instance stops before the outage: it leaves the count as it shuts down.
    await apps[2]!.stop();
    await untilLive(admin, 2, 5_000);
    // Each remaining instance reads the count (2) in the reply to its next heartbeat, which
    // scores it with Redis's time: wait until both have beaten since the leave.
    const leftAtMs = Math.floor((await redisTimeUs(admin)) / 1000);
    const started = performance.now();
    while ((await admin.zcount(INSTANCES_KEY, `(${leftAtMs}`, '+inf')) < 2) {
      if (performance.now() - started > 5 * HEARTBEAT_MS) {
        throw new Error('the two instances left did not both beat after the third left');
      }
      await sleep(50);
    }
    await sleep(100); // for the last reply to be read

    await admin.quit();
    admin = undefined;
    await server.stop();
    server = undefined;
    // GET /public: 5 per client IP, refill 5/min; a share of 2 tokens, one back every 24 s.
    for (const app of apps.slice(0, 2)) {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await statusOf(`${app.url}/public`));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
      expect(answers[2]!.retryAfter).toBe('24');
    }
  }, 90_000);
});
