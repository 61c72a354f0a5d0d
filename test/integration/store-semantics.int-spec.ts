import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { MemoryRateLimitStore, RedisRateLimitStore } from 'nest-redis-rate-limit';
import { BUCKET_LUA } from '../../lib/algorithms/bucket-script.js';
import { takeFlat } from '../support/flat-take.js';
import { type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';
import { describeStoreSemantics, type StoreHarness } from '../support/store-semantics.suite.js';
import { redisTimeUs } from '../support/redis-time.js';

const HOUR_US = 3_600_000_000;
const BUCKET_SCRIPT_SHA = createHash('sha1').update(BUCKET_LUA).digest('hex');
const slow = (capacity: number) => ({ capacity, usPerToken: HOUR_US });

const STORES: readonly [string, () => Promise<StoreHarness>][] = [
  [
    'RedisRateLimitStore',
    async () => {
      const client = new Redis(process.env.REDIS_URL!);
      const store = new RedisRateLimitStore(client, true, 1_000);
      await store.waitUntilReady();
      return {
        store,
        moduleOptions: { redis: client, timeoutMs: 1_000 },
        close: () => store.close(),
      };
    },
  ],
  [
    'MemoryRateLimitStore',
    () => {
      const store = new MemoryRateLimitStore();
      return Promise.resolve({ store, moduleOptions: {}, close: () => store.close() });
    },
  ],
];

for (const [name, open] of STORES) describeStoreSemantics(name, open);

// On its own redis-server: SCRIPT FLUSH empties the script cache of every client of a server, and
// test files running in parallel call the script on the shared one (and would load it again).
describe('store semantics only Redis can show', () => {
  let server: RedisServerProcess;
  let client: Redis;
  let store: RedisRateLimitStore;
  let prefix: string;

  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url);
    store = new RedisRateLimitStore(client, true, 1_000);
    await store.waitUntilReady();
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });
  beforeEach(() => {
    prefix = `test:${randomUUID()}:`;
  });

  it('a key expires when its bucket is full again: PTTL is the time to full', async () => {
    const key = `${prefix}{id}`;
    const sentAt = performance.now();
    const [, resetMs] = await takeFlat(
      store,
      [key],
      [{ capacity: 10, usPerToken: 1_000_000 }],
      [3],
      true,
    );
    const pttl = await client.pttl(key);
    // The key's time left shrinks by the time between the two calls (and 1 ms of rounding).
    const elapsedMs = performance.now() - sentAt;
    expect(resetMs).toBe(3_000);
    expect(pttl).toBeLessThanOrEqual(3_000);
    expect(pttl).toBeGreaterThanOrEqual(3_000 - Math.ceil(elapsedMs) - 1);
  });

  it('a full bucket has no key', async () => {
    const key = `${prefix}{id}`;
    // A token back every 500 ms: the key must still be there at the next command.
    const rule = { capacity: 2, usPerToken: 500_000 };
    await takeFlat(store, [key], [rule], [1], true);
    await expect(client.exists(key)).resolves.toBe(1);
    await sleep(700);
    await expect(client.exists(key)).resolves.toBe(0);
    await takeFlat(store, [key], [rule], [0], true);
    await takeFlat(store, [key], [rule], [1], false);
    await expect(client.exists(key)).resolves.toBe(0);
  });

  it('stores one integer per bucket, which Redis keeps without a string allocation', async () => {
    const key = `${prefix}{id}`;
    await takeFlat(store, [key], [slow(10)], [1], true);
    await expect(client.object('ENCODING', key)).resolves.toBe('int');
  });

  it("stamps buckets with Redis's clock, not the client's: the value is when it is full again", async () => {
    const key = `${prefix}{id}`;
    const before = await redisTimeUs(client);
    await takeFlat(store, [key], [slow(10)], [1], true);
    const after = await redisTimeUs(client);
    const fullAtUs = Number(await client.get(key));
    expect(Number.isInteger(fullAtUs)).toBe(true);
    expect(fullAtUs).toBeGreaterThanOrEqual(before + HOUR_US);
    expect(fullAtUs).toBeLessThanOrEqual(after + HOUR_US);
  });

  it('reloads the script transparently after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const key = `${prefix}{id}`;
    await expect(takeFlat(store, [key], [slow(3)], [1], true)).resolves.toEqual([2, 3_600_000, 0]);
    await client.script('FLUSH');
    await expect(client.script('EXISTS', BUCKET_SCRIPT_SHA)).resolves.toEqual([0]);
    const [remaining] = await takeFlat(store, [key], [slow(3)], [1], true);
    expect(remaining).toBe(1);
    await expect(client.script('EXISTS', BUCKET_SCRIPT_SHA)).resolves.toEqual([1]);
  });
});
