import { EVENTS_LIMIT } from '../../sample-app/src/events/event-limits.js';
import { startRedisCluster } from '../support/redis-cluster.mjs';
import { startRedisServer } from '../support/redis-process.mjs';
import { type IdentityStats, driveRoundRobin } from '../support/round-robin-load.mjs';
import {
  type SampleAppBuild,
  buildSampleApp,
  startSampleApps,
} from '../support/sample-app-process.mjs';

const INSTANCES = 4;
const CAPACITY = 100;
const RATE_PER_S = 200;
const IDENTITIES = 1;
/** 4× the limit, for 5 s: 4,000 requests at most. */
const OFFERED_PER_S = 4 * IDENTITIES * RATE_PER_S;
const DURATION_MS = 5_000;
/**
 * Far above the 100 ms default: on a loaded machine a slow reply would otherwise be let through by
 * the failure strategy ('open') and counted as undecided, which is not what this test measures.
 */
const TIMEOUT_MS = '2000';
const MODES = ['plain', 'deny-cache'] as const;

interface Backend {
  env: Record<string, string>;
  stop(): Promise<void>;
}

const BACKENDS: [string, () => Promise<Backend>][] = [
  [
    'one redis-server',
    async () => {
      const server = await startRedisServer();
      return { env: { REDIS_URL: server.url }, stop: () => server.stop() };
    },
  ],
  [
    'a Redis Cluster of 3 masters',
    async () => {
      const cluster = await startRedisCluster();
      const nodes = cluster.nodes.map((node) => `${node.host}:${node.port}`).join(',');
      return { env: { REDIS_CLUSTER_NODES: nodes }, stop: () => cluster.stop() };
    },
  ],
];

/**
 * What one identity could take, in tokens: a full bucket plus Redis's refill between its first and
 * last decision. Those happen after the first request is sent and before the last reply arrives,
 * so [first sent, last reply] holds them (upper bound); the first decision comes before the first
 * reply and the last after the last send, so they hold [first reply, last sent] (lower bound, which
 * the limiter reaches only if the load never lets the bucket fill up and overflow).
 */
function budget(stats: IdentityStats): { upper: number; lower: number } {
  return {
    upper: CAPACITY + (RATE_PER_S * (stats.lastReply - stats.firstSent)) / 1000,
    lower: CAPACITY + (RATE_PER_S * (stats.lastSent - stats.firstReply)) / 1000,
  };
}

let build: SampleAppBuild;
const report: string[] = [];

// Compiled here rather than by `npm run build:sample`: CI runs `npm test` on a clean clone.
beforeAll(async () => {
  build = await buildSampleApp();
}, 120_000);
afterAll(() => {
  build?.remove();
  if (report.length > 0) process.stdout.write(`multi-instance accuracy:\n${report.join('\n')}\n`);
});

describe.each(BACKENDS)('4 sample-app processes on %s', (backendName, startBackend) => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackend();
  }, 60_000);
  afterAll(async () => {
    await backend?.stop();
  });

  it('drives the real /events limit (100 at once, 200/s per key)', () => {
    expect(EVENTS_LIMIT).toMatchObject({ capacity: CAPACITY, refill: `${RATE_PER_S}/s` });
  });

  it.each(MODES)(
    'mode %s: round-robin at 4× the limit for 5 s admits at most capacity + rate × elapsed, and at least 98% of it',
    async (mode) => {
      const apps = await startSampleApps(INSTANCES, {
        entry: build.entry,
        env: { ...backend.env, RATE_LIMIT_MODE: mode, RATE_LIMIT_TIMEOUT_MS: TIMEOUT_MS },
      });
      const identities = Array.from({ length: IDENTITIES }, (_, i) => `${mode}-client-${i}`);
      let result;
      try {
        result = await driveRoundRobin({
          urls: apps.map((app) => app.url),
          path: '/events',
          identities,
          rate: OFFERED_PER_S,
          durationMs: DURATION_MS,
        });
      } finally {
        await Promise.all(apps.map((app) => app.stop()));
      }

      for (const identity of identities) {
        const stats = result.perIdentity[identity]!;
        const { upper, lower } = budget(stats);
        const offeredPerS = stats.sent / ((stats.lastSent - stats.firstSent) / 1000);
        report.push(
          `  ${backendName}, ${mode}, ${identity}: ${stats.allowed} allowed of ${stats.sent} ` +
            `(${Math.round(offeredPerS)}/s offered); bounds [${lower.toFixed(1)}, ${upper.toFixed(1)}], ` +
            `${((100 * stats.allowed) / upper).toFixed(2)}% of the upper`,
        );
        // Every request got a decision: no error, no failure strategy, no transport failure.
        expect({ identity, other: stats.other, undecided: stats.undecided }).toEqual({
          identity,
          other: {},
          undecided: 0,
        });
        expect(stats.allowed + stats.denied).toBe(stats.sent);
        // Otherwise the limit was never the constraint and the lower bound proves nothing.
        expect(offeredPerS).toBeGreaterThan(1.5 * RATE_PER_S);
        expect(stats.allowed).toBeLessThanOrEqual(upper);
        expect(stats.allowed).toBeGreaterThanOrEqual(0.98 * lower);
      }
    },
    90_000,
  );
});
