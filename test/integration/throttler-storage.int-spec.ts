import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import {
  type RateLimitModuleOptions,
  type RateLimitThrottlerRecord,
  RateLimitThrottlerStorage,
} from 'nest-redis-rate-limit';
import { throttler } from '../support/nestjs-throttler.js';
import { useRateLimitModules } from '../support/rate-limit-modules.js';
import { type RedisClusterProcesses, startRedisCluster } from '../support/redis-cluster.mjs';
import { freePort, type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';

/** One call of a scenario: at `atMs` after its start. */
interface Call {
  readonly atMs: number;
  readonly key: string;
  readonly name: string;
  readonly ttl: number;
  readonly limit: number;
  readonly blockDuration: number;
}

/**
 * Redis's clock cannot be faked, so scenarios run in real time, against throttler's own storage
 * called right after ours. Every call is made 0-300 ms past a whole second from the start, and
 * every ttl and blockDuration is a whole second plus 500 ms: each expiry and each second of
 * timeToExpire/timeToBlockExpire then falls 200 ms or more away from any call, so the two
 * clocks' few ms apart never change an answer. A call later than LATE_MS spoils that margin:
 * the scenario is run again.
 */
const LATE_MS = 120;

const blocking = (key: string, name = 'default') => ({
  key,
  name,
  ttl: 1_500,
  limit: 2,
  blockDuration: 2_500,
});

const SCENARIOS: Record<string, readonly Call[]> = {
  'limit 2, ttl 1.5 s, block 2.5 s: blocked on the 3rd hit, stays blocked while hits expire, then counts afresh':
    [0, 100, 200, 1_100, 2_300, 3_000, 3_100, 3_200, 4_100].map((atMs) => ({
      atMs,
      ...blocking('k'),
    })),
  'limit 2, ttl 1.5 s, no block: refuses only the calls over the limit until the oldest hit expires':
    [0, 100, 200, 1_300, 2_000, 2_100, 2_200, 3_250].map((atMs) => ({
      atMs,
      ...blocking('k'),
      blockDuration: 0,
    })),
  'two throttler names on one key share its window and block, not their hits': [
    { atMs: 0, ...blocking('k', 'short'), limit: 1 },
    { atMs: 50, ...blocking('k', 'long'), ttl: 2_500, limit: 3 },
    { atMs: 100, ...blocking('k', 'long'), ttl: 2_500, limit: 3 },
    { atMs: 150, ...blocking('k', 'short'), limit: 1 },
    { atMs: 200, ...blocking('k', 'long'), ttl: 2_500, limit: 3 },
    { atMs: 1_200, ...blocking('k', 'long'), ttl: 2_500, limit: 3 },
    { atMs: 3_100, ...blocking('k', 'short'), limit: 1 },
    { atMs: 3_200, ...blocking('k', 'long'), ttl: 2_500, limit: 3 },
    { atMs: 3_300, ...blocking('other', 'long'), ttl: 2_500, limit: 3 },
  ],
};

describe('RateLimitThrottlerStorage on Redis, side by side with @nestjs/throttler ThrottlerStorageService', () => {
  const createModule = useRateLimitModules();

  async function storageOn(options: RateLimitModuleOptions): Promise<RateLimitThrottlerStorage> {
    return (await createModule(options)).get(RateLimitThrottlerStorage);
  }

  describe.each(Object.entries(SCENARIOS))('%s', (_title, calls) => {
    it('answers every call as throttler does (totalHits, timeToExpire, isBlocked, timeToBlockExpire)', async () => {
      const ours = await storageOn({ redis: process.env.REDIS_URL! });
      for (let attempt = 1; ; attempt++) {
        const theirs = new throttler.ThrottlerStorageService();
        const run = `${randomUUID()}:`;
        try {
          const replayed = await replay(calls, run, ours, theirs);
          if (replayed.lateMs <= LATE_MS || attempt === 3) {
            expect(replayed.lateMs).toBeLessThanOrEqual(LATE_MS);
            expect(replayed.ours).toEqual(replayed.theirs);
            // Blocks happened, else the scenario would test little.
            expect(replayed.theirs.some((answer) => answer.isBlocked)).toBe(true);
            return;
          }
        } finally {
          theirs.onApplicationShutdown();
        }
      }
    }, 30_000);
  });

  it('keeps one record per throttler key, in its hash tag, expiring when its last hit does', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const ours = await storageOn({ redis: process.env.REDIS_URL!, keyPrefix });
    await ours.increment('tracker-1', 5_000, 3, 5_000, 'default');
    await ours.increment('tracker-1', 5_000, 3, 5_000, 'default');
    const redis = new Redis(process.env.REDIS_URL!);
    try {
      const record = `${keyPrefix}@throttler:record:{tracker-1}`;
      expect(await redis.keys(`${keyPrefix}*`)).toEqual([record]);
      const ttlMs = await redis.pttl(record);
      expect(ttlMs).toBeGreaterThan(4_000);
      expect(ttlMs).toBeLessThanOrEqual(5_000);
      // 17-byte header; 'default': 1 + 7 + 4 bytes, then 8 per hit.
      expect(await redis.strlen(record)).toBe(17 + 12 + 2 * 8);
      // A key that is not a plain identity (braces would move the hash tag) is hashed.
      await ours.increment('{evil}', 5_000, 3, 5_000, 'a{b}');
      const hashed = await redis.keys(`${keyPrefix}*#*`);
      expect(hashed).toHaveLength(1);
      expect(hashed[0]).toMatch(/\{#[\w-]+\}$/);
    } finally {
      redis.disconnect();
    }
  });

  it('keeps long logs in order, whatever the order of their expiries (ttl varying per call)', async () => {
    const ours = await storageOn({ redis: process.env.REDIS_URL! });
    const theirs = new throttler.ThrottlerStorageService();
    const key = randomUUID();
    try {
      // Whole seconds: the seconds left, read from two clocks a moment apart, then change at
      // the same whole second of elapsed time, not half-way through the loop.
      for (let i = 0; i < 260; i++) {
        const ttl = [60_000, 30_000, 45_000][i % 3]!;
        const args = [key, ttl, 250, 0, 'default'] as const;
        const [a, b] = [await ours.increment(...args), await theirs.increment(...args)];
        expect({ call: i, ...a }).toEqual({ call: i, ...b });
      }
    } finally {
      theirs.onApplicationShutdown();
    }
  });

  it('warns once per throttler and limit when a limit makes the log large', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const ours = await storageOn({ redis: process.env.REDIS_URL! });
      await ours.increment(`${randomUUID()}`, 60_000, 100, 0, 'default');
      expect(warn).not.toHaveBeenCalled();
      for (let i = 0; i < 3; i++)
        await ours.increment(`${randomUUID()}`, 60_000, 20_000, 0, 'bulk');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toMatch(
        /^RateLimitThrottlerStorage: throttler 'bulk' has limit 20000\. .* up to 156 KiB .* prefer @RateLimit with algorithm 'fixed-window'/,
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses a value Redis cannot hold with a RateLimitConfigError naming it', async () => {
    const ours = await storageOn({ redis: process.env.REDIS_URL! });
    await expect(ours.increment('k', Number.POSITIVE_INFINITY, 1, 0, 'default')).rejects.toThrow(
      /RateLimitThrottlerStorage\.increment: ttl must be a finite number \(got Infinity\)/,
    );
  });

  it('without redis, counts in this process with the same semantics', async () => {
    const ours = await storageOn({});
    const theirs = new throttler.ThrottlerStorageService();
    try {
      for (let i = 0; i < 4; i++) {
        const [a, b] = await Promise.all([
          ours.increment('k', 60_000, 2, 30_000, 'default'),
          theirs.increment('k', 60_000, 2, 30_000, 'default'),
        ]);
        expect(comparable(a)).toEqual(comparable(b));
      }
    } finally {
      theirs.onApplicationShutdown();
    }
  });
});

describe('RateLimitThrottlerStorage on Redis Cluster (3 masters on loopback)', () => {
  const createModule = useRateLimitModules();
  let cluster: RedisClusterProcesses;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('judges keys spread over every slot, each in one call (no CROSSSLOT), blocks included', async () => {
    const storage = (
      await createModule({ redis: { cluster: cluster.nodes }, timeoutMs: 1_000 })
    ).get(RateLimitThrottlerStorage);
    const keys = Array.from({ length: 30 }, (_, i) => `tracker-${i}`);
    for (const expected of [false, false, true]) {
      const answers = await Promise.all(
        keys.map((key) => storage.increment(key, 60_000, 2, 60_000, 'default')),
      );
      for (const answer of answers) {
        expect(answer).toMatchObject({ isBlocked: expected, timeToExpire: 60 });
      }
    }
  });
});

describe('RateLimitThrottlerStorage when Redis fails', () => {
  const createModule = useRateLimitModules();
  let server: RedisServerProcess | undefined;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    jest.restoreAllMocks();
  });

  it('answers after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    // Its own server: SCRIPT FLUSH empties the script cache of every client of a server.
    server = await startRedisServer();
    const ours = (await createModule({ redis: server.url })).get(RateLimitThrottlerStorage);
    const key = randomUUID();
    await expect(ours.increment(key, 60_000, 5, 60_000, 'default')).resolves.toMatchObject({
      totalHits: 1,
    });
    const redis = new Redis(server.url);
    try {
      await redis.script('FLUSH');
    } finally {
      redis.disconnect();
    }
    await expect(ours.increment(key, 60_000, 5, 60_000, 'default')).resolves.toMatchObject({
      totalHits: 2,
    });
  });

  async function unreachable(options: RateLimitModuleOptions): Promise<RateLimitThrottlerStorage> {
    const moduleRef = await createModule({
      redis: `redis://127.0.0.1:${await freePort()}`,
      readyWaitMs: 200,
      ...options,
    });
    return moduleRef.get(RateLimitThrottlerStorage);
  }

  it('fails open: the call passes, 0 hits, and the failure is logged', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const storage = await unreachable({ failureStrategy: 'open' });
    await expect(storage.increment('k', 60_000, 1, 60_000, 'default')).resolves.toEqual({
      totalHits: 0,
      timeToExpire: 60,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect(warn.mock.calls.map(([message]) => String(message))).toContainEqual(
      expect.stringMatching(/store failed for the throttler storage .*failing open/),
    );
  });

  it('fails closed: the call is blocked for 1 s (ThrottlerGuard answers 429, Retry-After: 1)', async () => {
    const storage = await unreachable({ failureStrategy: 'closed' });
    await expect(storage.increment('k', 60_000, 5, 60_000, 'default')).resolves.toEqual({
      totalHits: 6,
      timeToExpire: 60,
      isBlocked: true,
      timeToBlockExpire: 1,
    });
  });

  it("fails 'local': counts in this process against limit / instances", async () => {
    const storage = await unreachable({ failureStrategy: 'local', instances: 2 });
    const answers: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      answers.push((await storage.increment('k', 60_000, 4, 60_000, 'default')).isBlocked);
    }
    expect(answers).toEqual([false, false, true, true]);
  });

  it('answers within the timeout while Redis is paused, then without calling it once the breaker opens', async () => {
    server = await startRedisServer();
    const storage = (
      await createModule({
        redis: server.url,
        timeoutMs: 100,
        circuitBreaker: { failureThreshold: 3, cooldownMs: 60_000 },
      })
    ).get(RateLimitThrottlerStorage);
    await expect(storage.increment('k', 60_000, 5, 60_000, 'default')).resolves.toMatchObject({
      totalHits: 1,
    });
    process.kill(server.pid, 'SIGSTOP');
    const durationsMs: number[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const startedMs = performance.now();
        const answer = await storage.increment('k', 60_000, 5, 60_000, 'default');
        durationsMs.push(performance.now() - startedMs);
        expect(answer.totalHits).toBe(0);
      }
    } finally {
      // Before the module closes (an afterEach hook that runs first): its client quits.
      process.kill(server.pid, 'SIGCONT');
    }
    // The first three pay the timeout (generous bound for a busy machine); the breaker is then open.
    for (const ms of durationsMs.slice(0, 3)) {
      expect(ms).toBeGreaterThanOrEqual(90);
      expect(ms).toBeLessThan(1_000);
    }
    // Without a store call: far from the timeout, though a busy machine may stall one.
    for (const ms of durationsMs.slice(3)) expect(ms).toBeLessThan(50);
  });
});

/** throttler's timeToBlockExpire while not blocked: <= 0 and meaningless (see the Lua's header). */
function comparable(record: RateLimitThrottlerRecord) {
  return {
    ...record,
    timeToBlockExpire: record.isBlocked ? record.timeToBlockExpire : record.timeToBlockExpire <= 0,
  };
}

interface Replayed {
  readonly ours: ReturnType<typeof comparable>[];
  readonly theirs: ReturnType<typeof comparable>[];
  /** The latest any call was made past its time. */
  readonly lateMs: number;
}

async function replay(
  calls: readonly Call[],
  run: string,
  ours: RateLimitThrottlerStorage,
  theirs: InstanceType<typeof throttler.ThrottlerStorageService>,
): Promise<Replayed> {
  const replayed = { ours: [] as Replayed['ours'], theirs: [] as Replayed['theirs'], lateMs: 0 };
  const startMs = Date.now();
  for (const call of calls) {
    const dueMs = startMs + call.atMs;
    if (dueMs > Date.now()) await sleep(dueMs - Date.now());
    replayed.lateMs = Math.max(replayed.lateMs, Date.now() - dueMs);
    const args = [run + call.key, call.ttl, call.limit, call.blockDuration, call.name] as const;
    replayed.ours.push(comparable(await ours.increment(...args)));
    replayed.theirs.push(comparable(await theirs.increment(...args)));
  }
  return replayed;
}
