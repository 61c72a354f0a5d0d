import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';
import { type StatusAnswer, statusOf } from '../support/status-of.js';
import {
  buildSampleApp,
  type SampleAppBuild,
  type SampleAppProcess,
  startSampleApps,
} from '../support/sample-app-process.mjs';
import { redisTimeUs } from '../support/redis-time.js';

/** POST /reports from 127.0.0.1 (2 in flight per IP, leases of 5 s): the sample app's key. */
const SLOTS_KEY = 'rl:{ip:127.0.0.1}:in-flight:ReportsController.build:in-flight';
const LEASE_MS = 5_000;

/** Slots of SLOTS_KEY whose lease has not ended by Redis's clock (the scores are lease ends). */
async function liveSlots(admin: Redis): Promise<number> {
  const nowMs = Math.floor((await redisTimeUs(admin)) / 1000);
  return admin.zcount(SLOTS_KEY, `(${nowMs}`, '+inf');
}

/** POST /reports on a fresh connection; a held report takes up to 10 s. */
const post = (url: string): Promise<StatusAnswer> =>
  statusOf(url, { method: 'POST', timeoutMs: 15_000 });

describe('@ConcurrencyLimit across sample-app processes, one of them killed with slots held', () => {
  let build: SampleAppBuild;
  let server: RedisServerProcess;
  let admin: Redis;
  let apps: SampleAppProcess[] = [];

  beforeAll(async () => {
    build = await buildSampleApp();
    server = await startRedisServer();
    admin = new Redis(server.url);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    admin?.disconnect();
    await server?.stop();
    build?.remove();
  });

  it("holds max across instances, and a SIGKILLed instance's slots come back within one lease", async () => {
    apps = await startSampleApps(2, {
      entry: build.entry,
      env: { REDIS_URL: server.url, RATE_LIMIT_TIMEOUT_MS: String(TEST_TIMEOUT_MS) },
    });
    const [doomed, survivor] = apps as [SampleAppProcess, SampleAppProcess];

    // Two slow reports on the instance about to die: both slots of 127.0.0.1.
    const held = [post(`${doomed.url}/reports?ms=10000`), post(`${doomed.url}/reports?ms=10000`)];
    for (const answer of held) answer.catch(() => undefined);
    const started = performance.now();
    while ((await admin.zcard(SLOTS_KEY)) < 2) {
      if (performance.now() - started > 10_000) throw new Error('the two reports never started');
      await sleep(20);
    }
    const refused = await post(`${survivor.url}/reports?ms=0`);
    expect(refused).toEqual({ status: 429, retryAfter: '1' });

    process.kill(doomed.pid, 'SIGKILL');
    const killedAt = performance.now();
    // Nobody releases them now: they stay taken until their leases end.
    expect((await post(`${survivor.url}/reports?ms=0`)).status).toBe(429);
    let answer: StatusAnswer;
    do {
      await sleep(100);
      answer = await post(`${survivor.url}/reports?ms=0`);
    } while (answer.status === 429 && performance.now() - killedAt < 3 * LEASE_MS);
    expect(answer.status).toBe(201);
    // Freed by the lease ends (renewed at most a third of a lease before the kill), not before.
    const freedAfterMs = performance.now() - killedAt;
    expect(freedAfterMs).toBeGreaterThan(LEASE_MS / 2);
    expect(freedAfterMs).toBeLessThan(LEASE_MS + 3_000);
    // Both of the dead instance's slots end within one lease, not only the first: each was renewed
    // by its own timer, so their lease ends differ, and the request above may have pruned only
    // the earlier one. Ended slots stay in the set until a take prunes them, so count live ones.
    let live: number;
    do {
      live = await liveSlots(admin);
      if (live === 0) break;
      await sleep(100);
    } while (performance.now() - killedAt < LEASE_MS + 3_000);
    expect(live).toBe(0);
  }, 60_000);
});
