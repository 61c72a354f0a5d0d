import { Redis } from 'ioredis';
import { type LimitOptions, RateLimitModule, RateLimitService } from 'nest-redis-rate-limit';
import { Test } from '@nestjs/testing';
import { type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

const HOUR_MS = 3_600_000;
/** Identities measured per algorithm: one decision each. */
const IDENTITIES = 20_000;

const LIMITS: readonly (readonly [string, LimitOptions])[] = [
  // as bench/lib/memory.mjs: a token a minute, so no key expires while it is measured
  ['token-bucket', { capacity: 100, refill: '1/min' }],
  ['fixed-window', { algorithm: 'fixed-window', capacity: 100, windowMs: HOUR_MS }],
  ['sliding-window', { algorithm: 'sliding-window', capacity: 100, windowMs: HOUR_MS }],
];

/**
 * Redis memory per identity, per algorithm, as bench/lib/memory.mjs measures it for the peers
 * (key prefix 'm:', RateLimitService, one decision per identity): one key each, its encoding and
 * MEMORY USAGE and refcount, the used_memory delta over all identities, and the time Redis spent
 * in the script per decision (commandstats). The README's table ("Choosing an algorithm") quotes
 * the printed lines.
 */
describe('Redis memory per identity, per algorithm (own redis-server)', () => {
  let server: RedisServerProcess;
  let admin: Redis;
  const lines: string[] = [];

  /** Calls and microseconds Redis spent in scripts (EVALSHA + EVAL), from INFO commandstats. */
  const scriptStats = async (): Promise<{ calls: number; usec: number }> => {
    const stats = await admin.info('commandstats');
    let calls = 0;
    let usec = 0;
    for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/gm)) {
      calls += Number(match[1]);
      usec += Number(match[2]);
    }
    return { calls, usec };
  };

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
    // An hour's end would expire the fixed window's keys while they are counted.
    const [seconds] = await admin.time();
    const leftMs = HOUR_MS - (Number(seconds) % 3_600) * 1_000;
    if (leftMs < 60_000) await new Promise((resolve) => setTimeout(resolve, leftMs + 1_000));
  }, 90_000);
  afterAll(async () => {
    process.stdout.write(
      `\nRedis memory per identity (${IDENTITIES} identities):\n${lines.join('\n')}\n`,
    );
    admin.disconnect();
    await server.stop();
  });

  it.each(LIMITS)(
    '%s: one key per identity; an integer for the bucket, a shared one for the fixed window, a short string for the sliding window',
    async (name, limit) => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          RateLimitModule.forRoot({
            redis: server.url,
            timeoutMs: TEST_TIMEOUT_MS,
            keyPrefix: 'm:',
            global: false,
          }),
        ],
      }).compile();
      await moduleRef.init();
      try {
        const service = moduleRef.get(RateLimitService);
        await service.consume('user:warmup', limit);
        await admin.flushall();
        const before = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
        const scriptsBefore = await scriptStats();
        for (let i = 0; i < IDENTITIES; i += 200) {
          await Promise.all(
            Array.from({ length: 200 }, (_, j) => service.consume(`user:${i + j}`, limit)),
          );
        }
        const after = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
        const scriptsAfter = await scriptStats();
        const luaUs =
          (scriptsAfter.usec - scriptsBefore.usec) / (scriptsAfter.calls - scriptsBefore.calls);
        const sample = 'm:service:default:{user:12345}';
        const bytes = (await admin.memory('USAGE', sample, 'SAMPLES', '0')) as number;
        const encoding = await admin.object('ENCODING', sample);
        const refcount = await admin.object('REFCOUNT', sample);
        const value = await admin.get(sample);
        lines.push(
          `  ${name}: ${((after - before) / IDENTITIES).toFixed(1)} B used_memory per identity; ${await admin.dbsize()} keys; MEMORY USAGE ${bytes} B (${String(encoding)}, refcount ${String(refcount)}, ${JSON.stringify(value)}) for ${sample}; ${luaUs.toFixed(2)} µs in the script per decision`,
        );
        expect(await admin.dbsize()).toBe(IDENTITIES);
        expect(encoding).toBe(name === 'sliding-window' ? 'embstr' : 'int');
        // The fixed window's count (1 here) is one of Redis's shared integers, which report
        // INT_MAX: its key allocates no value object (16 B of used_memory per identity)
        expect(refcount).toBe(name === 'fixed-window' ? 2_147_483_647 : 1);
        // Redis 7.0: 72 B and 88 B for this key (MEMORY USAGE counts a value object for every
        // int-encoded value, shared or not); a margin for other versions' allocations
        expect(bytes).toBeLessThanOrEqual(name === 'sliding-window' ? 104 : 80);
      } finally {
        await moduleRef.close();
        await admin.flushall();
      }
    },
    60_000,
  );
});
