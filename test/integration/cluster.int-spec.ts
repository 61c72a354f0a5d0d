import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { type LimitOptions, RateLimitService, RedisRateLimitStore } from 'nest-redis-rate-limit';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';
import { RateLimitEngine } from '../../lib/rate-limit.engine.js';
import { createStore } from '../../lib/stores/create-store.js';
import { type RedisClusterProcesses, startRedisCluster } from '../support/redis-cluster.mjs';

const HOUR_US = 3_600_000_000;
const slow = (capacity: number) => ({ capacity, usPerToken: HOUR_US });

describe('Redis Cluster (3 masters on loopback)', () => {
  let cluster: RedisClusterProcesses;
  let store: RedisRateLimitStore;
  let client: Cluster;
  let prefix: string;
  let service: RateLimitService;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    store = createStore({
      redis: { cluster: cluster.nodes },
      timeoutMs: 1_000,
      memoryStoreMaxKeys: 1,
    }) as RedisRateLimitStore;
    client = store.client as Cluster;
    await store.onModuleInit();
  }, 30_000);
  afterAll(async () => {
    await store?.onModuleDestroy();
    await cluster?.stop();
  });
  beforeEach(() => {
    prefix = `test:${randomUUID()}:`;
    service = new RateLimitService(
      new RateLimitEngine(resolveModuleOptions({ keyPrefix: prefix }), store),
    );
  });

  const key = (name: string, identity = 'id') => `${prefix}${name}:{${identity}}`;

  it('the module creates a Cluster client from the nodes and reaches ready', () => {
    expect(store.description).toBe('redis-cluster');
    expect(client.isCluster).toBe(true);
    expect(client.status).toBe('ready');
    expect(client.nodes('master')).toHaveLength(3);
  });

  it('passes a burst of capacity, then denies with about one token time to wait', async () => {
    const limit: LimitOptions = { capacity: 5, refill: '1/s' };
    for (let i = 4; i >= 0; i--) {
      await expect(service.consume('user:1', limit)).resolves.toMatchObject({
        allowed: true,
        remaining: i,
      });
    }
    const denied = await service.consume('user:1', limit);
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeGreaterThan(500);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(1_000);
  });

  it('all-or-nothing over two limits of one identity, in one script call (no CROSSSLOT)', async () => {
    const keys = [key('a'), key('b')];
    const rules = [slow(5), slow(1)];
    await expect(store.take(keys, rules, [1, 1], true)).resolves.toEqual([
      4, 3_600_000, 0, 0, 3_600_000, 0,
    ]);
    const denied = await store.take(keys, rules, [1, 1], true);
    expect(denied[5]).toBeGreaterThan(3_590_000);
    await expect(store.take([key('a')], [slow(5)], [1], false)).resolves.toEqual([
      4,
      expect.any(Number),
      0,
    ]);
  });

  it('retryAfterMs of a decision is the longest wait among the denying limits', async () => {
    const limits: LimitOptions[] = [
      { name: 'minute', capacity: 1, refill: '1/min' },
      { name: 'hour', capacity: 1, refill: '1/hour' },
    ];
    await service.consume('user:1', limits);
    const decision = await service.consume('user:1', limits);
    expect(decision.allowed).toBe(false);
    expect(decision.retryAfterMs).toBeGreaterThan(3_590_000);
    expect(decision.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    expect(decision.limits[0]!.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('reset(key) finds the identity on whichever master holds it', async () => {
    const limit = { capacity: 2, refill: '1/hour' };
    for (const user of ['user:1', 'user:2', 'user:3']) await service.consume(user, limit);
    await service.reset('user:2');
    const remaining = await Promise.all(
      ['user:1', 'user:2', 'user:3'].map(
        async (user) => (await service.peek(user, limit)).remaining,
      ),
    );
    expect(remaining).toEqual([1, 2, 1]);
  });

  it('3,000 identities spread evenly: each master holds 25-42% of the buckets', async () => {
    const limit = { capacity: 10, refill: '1/hour' };
    const identities = Array.from({ length: 3_000 }, (_, i) => `user:${i}`);
    for (let start = 0; start < identities.length; start += 250) {
      const batch = identities.slice(start, start + 250);
      const decisions = await Promise.all(batch.map((user) => service.consume(user, limit)));
      expect(decisions.every((decision) => decision.remaining === 9)).toBe(true);
    }
    const counts = await Promise.all(
      client.nodes('master').map(async (node) => {
        const [, keys] = await node.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10_000);
        return keys.length;
      }),
    );
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(3_000);
    for (const count of counts) {
      expect(count).toBeGreaterThanOrEqual(750);
      expect(count).toBeLessThanOrEqual(1_260);
    }
  });

  it('reloads the script on every master after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const limit = { capacity: 3, refill: '1/hour' };
    const users = Array.from({ length: 30 }, (_, i) => `user:${i}`);
    await Promise.all(users.map((user) => service.consume(user, limit)));
    await Promise.all(client.nodes('master').map((node) => node.script('FLUSH')));
    const decisions = await Promise.all(users.map((user) => service.consume(user, limit)));
    expect(decisions.map((decision) => decision.remaining)).toEqual(users.map(() => 1));
  });
});
