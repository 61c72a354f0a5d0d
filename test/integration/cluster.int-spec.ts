import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import {
  type LimitOptions,
  RateLimitService,
  type RedisRateLimitStore,
} from 'nest-redis-rate-limit';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';
import { RateLimitEngine } from '../../lib/rate-limit.engine.js';
import { hashIdentity } from '../../lib/keys/bucket-identity.js';
import { BUCKET_LUA } from '../../lib/algorithms/bucket-script.js';
import { groupBySlot } from '../../lib/keys/bucket-key.js';
import { buildPipeline } from '../../lib/pipeline/build-pipeline.js';
import { takeFlat, tokenBucketRule } from '../support/flat-take.js';
import { type RedisClusterProcesses, startRedisCluster } from '../support/redis-cluster.mjs';
import { describeStoreSemantics } from '../support/store-semantics.suite.js';

const HOUR_US = 3_600_000_000;
const BUCKET_SCRIPT_SHA = createHash('sha1').update(BUCKET_LUA).digest('hex');
/** Indices of `keys` grouped by Cluster slot, as the store groups a request's buckets. */
const groupByHashTag = (keys: readonly string[]): number[][] =>
  groupBySlot(keys.map((key, index) => ({ key, index }))).map((group) =>
    group.map(({ index }) => index),
  );
const slow = (capacity: number) => ({ capacity, usPerToken: HOUR_US });

/** COMMAND INFO calls a master has counted so far. */
async function commandInfoCalls(master: Redis): Promise<number> {
  const stats = await master.info('commandstats');
  return Number(/^cmdstat_command\|info:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
}

describe('Redis Cluster (3 masters on loopback)', () => {
  let cluster: RedisClusterProcesses;
  let store: RedisRateLimitStore;
  let client: Cluster;
  let prefix: string;
  let service: RateLimitService;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    store = buildPipeline(
      resolveModuleOptions({ redis: { cluster: cluster.nodes }, timeoutMs: 1_000 }),
    ).store as RedisRateLimitStore;
    client = store.client as Cluster;
    await store.waitUntilReady();
  }, 30_000);
  afterAll(async () => {
    await store?.close();
    await cluster?.stop();
  });
  let engine: RateLimitEngine;
  beforeEach(() => {
    prefix = `test:${randomUUID()}:`;
    engine = new RateLimitEngine(
      resolveModuleOptions({ redis: client, keyPrefix: prefix, timeoutMs: 1_000 }),
    );
    service = new RateLimitService(engine);
  });
  afterEach(() => engine.onModuleDestroy());

  const key = (name: string, identity = 'id') => `${prefix}${name}:{${identity}}`;
  /** Script calls (EVALSHA and EVAL) the masters have run so far. */
  const scriptCalls = async (): Promise<number> => {
    let calls = 0;
    for (const master of client.nodes('master')) {
      const stats = await master.info('commandstats');
      for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) {
        calls += Number(match[1]);
      }
    }
    return calls;
  };

  it('the module creates a Cluster client from the nodes and reaches ready', () => {
    expect(store.description).toBe('redis-cluster');
    expect(client.isCluster).toBe(true);
    expect(client.status).toBe('ready');
    expect(client.nodes('master')).toHaveLength(3);
  });

  it("asks every master for the commands an algorithm needs (the start-up check's question)", async () => {
    const before = await Promise.all(client.nodes('master').map(commandInfoCalls));
    await expect(store.missingCommands(['PEXPIRETIME', 'NRRL-NO-SUCH-COMMAND'])).resolves.toEqual([
      'NRRL-NO-SUCH-COMMAND',
    ]);
    const after = await Promise.all(client.nodes('master').map(commandInfoCalls));
    expect(after.map((calls, i) => calls - before[i]!)).toEqual([1, 1, 1]);
  });

  it('options accept a Cluster the user owns, and reject an empty node list', () => {
    expect(resolveModuleOptions({ redis: client }).redis).toEqual({ kind: 'client', client });
    expect(() => resolveModuleOptions({ redis: { cluster: [] } })).toThrow(
      /redis\.cluster must be a non-empty array of nodes/,
    );
  });

  // The semantics every store has (burst, all-or-nothing in one call, refill, reset, ...), here
  // on the cluster this describe block started.
  describeStoreSemantics('RedisRateLimitStore on the cluster', () =>
    Promise.resolve({
      store,
      moduleOptions: { redis: client, timeoutMs: 1_000 },
      close: () => Promise.resolve(),
    }),
  );

  it('reset(key) finds the identity on whichever master holds it', async () => {
    const limit: LimitOptions = { capacity: 2, refill: '1/hour' };
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
    const limit: LimitOptions = { capacity: 10, refill: '1/hour' };
    // Sequential user ids split exactly evenly (CRC16 is linear): use IPs and API-key hashes.
    const identities = Array.from({ length: 3_000 }, (_, i) =>
      i % 2 === 0 ? `ip:10.0.${i >> 8}.${i & 255}` : `key:${hashIdentity(String(i))}`,
    );
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
    const limit: LimitOptions = { capacity: 3, refill: '1/hour' };
    const users = Array.from({ length: 30 }, (_, i) => `user:${i}`);
    await Promise.all(users.map((user) => service.consume(user, limit)));
    await Promise.all(client.nodes('master').map((node) => node.script('FLUSH')));
    const cached = await Promise.all(
      client.nodes('master').map((node) => node.script('EXISTS', BUCKET_SCRIPT_SHA)),
    );
    expect(cached).toEqual([[0], [0], [0]]);
    const decisions = await Promise.all(users.map((user) => service.consume(user, limit)));
    expect(decisions.map((decision) => decision.remaining)).toEqual(users.map(() => 1));
  });
  describe('limits of one request with different identities (several slots)', () => {
    // 'a' hashes to slot 15495 and 'b' to 3300: different masters in a 3-master cluster.
    const a = (name = 'x') => key(name, 'a');
    const b = (name = 'y') => key(name, 'b');

    it('groups keys by hash tag exactly as CLUSTER KEYSLOT slots them', async () => {
      const keys = [a(), b(), a('z'), `${prefix}no-tag`, `${prefix}{}empty`, `${prefix}{open`];
      const slots = await Promise.all(keys.map((k) => client.cluster('KEYSLOT', k)));
      expect(slots[0]).not.toBe(slots[1]);
      for (const group of groupByHashTag(keys)) {
        expect(new Set(group.map((index) => slots[index])).size).toBe(1);
      }
      expect(groupByHashTag(keys)).toEqual([[0, 2], [1], [3], [4], [5]]);
    });

    it('charges both slots when both pass, with no CROSSSLOT error', async () => {
      await expect(takeFlat(store, [a(), b()], [slow(5), slow(3)], [1, 2], true)).resolves.toEqual([
        4, 3_600_000, 0, 1, 7_200_000, 0,
      ]);
      const peek = await takeFlat(store, [a(), b()], [slow(5), slow(3)], [1, 1], false);
      expect(peek).toEqual([4, expect.any(Number), 0, 1, expect.any(Number), 0]);
      expect(peek[4]).toBeGreaterThan(7_200_000 - 5_000);
    });

    it('a later slot denying gives the earlier slot its tokens back', async () => {
      await takeFlat(store, [a()], [slow(5)], [3], true);
      await takeFlat(store, [b()], [slow(1)], [1], true);
      const denied = await takeFlat(store, [a(), b()], [slow(5), slow(1)], [2, 1], true);
      expect(denied.slice(0, 3)).toEqual([2, expect.any(Number), 0]);
      expect(denied[1]).toBeGreaterThan(3 * 3_600_000 - 5_000);
      expect(denied[1]).toBeLessThanOrEqual(3 * 3_600_000);
      expect(denied[5]).toBeGreaterThan(3_590_000);
      await expect(takeFlat(store, [a()], [slow(5)], [1], false)).resolves.toEqual([
        2,
        expect.any(Number),
        0,
      ]);
      await expect(client.strlen(a())).resolves.toBe(16);
      const pttl = await client.pttl(a());
      expect(pttl).toBeGreaterThan(3 * 3_600_000 - 5_000);
      expect(pttl).toBeLessThanOrEqual(3 * 3_600_000);
    });

    it('a later slot failing (a key of another type) gives the earlier slot its tokens back; the take rejects with its error', async () => {
      await client.lpush(b(), 'clash');
      await expect(takeFlat(store, [a(), b()], [slow(5), slow(1)], [2, 1], true)).rejects.toThrow(
        /WRONGTYPE/,
      );
      // Charged, then refunded to full: no key.
      await expect(client.exists(a())).resolves.toBe(0);
      await client.del(b());
    });

    it('a refund that empties the debt leaves no key (the bucket is full)', async () => {
      await takeFlat(store, [b()], [slow(1)], [1], true);
      const denied = await takeFlat(store, [a(), b()], [slow(5), slow(1)], [2, 1], true);
      expect(denied.slice(0, 3)).toEqual([5, 0, 0]);
      await expect(client.exists(a())).resolves.toBe(0);
    });

    it('an earlier slot denying charges no later slot', async () => {
      await takeFlat(store, [b()], [slow(1)], [1], true);
      const denied = await takeFlat(store, [b(), a()], [slow(1), slow(5)], [1, 1], true);
      expect(denied[2]).toBeGreaterThan(0);
      expect(denied.slice(3)).toEqual([5, 0, 0]);
      await expect(client.exists(a())).resolves.toBe(0);
    });

    it('the service denies a multi-identity request all-or-nothing', async () => {
      await takeFlat(store, [b('shared')], [slow(1)], [1], true);
      const keys = [a('own'), b('shared')];
      const rules = [slow(2), slow(1)];
      const decision = await engine.decide(['own', 'shared'], {
        requests: keys.map((bucket, i) => ({
          key: bucket,
          rule: tokenBucketRule(rules[i]!.capacity, rules[i]!.usPerToken),
          cost: 1,
        })),
        mode: 'consume',
        failureStrategy: 'closed',
      });
      expect(decision.allowed).toBe(false);
      expect(decision.limits.map((limit) => limit.remaining)).toEqual([2, 0]);
    });
  });
  it("judges a mix of algorithms in one script call on the identity's master, all-or-nothing", async () => {
    const limits: LimitOptions[] = [
      { name: 'burst', capacity: 3, refill: '3/h' },
      { name: 'hourly', algorithm: 'fixed-window', capacity: 2, windowMs: 3_600_000 },
      { name: 'smooth', algorithm: 'sliding-window', capacity: 4, windowMs: 3_600_000 },
    ];
    await service.peek('mixed', limits); // the script is loaded on that master
    const before = await scriptCalls();
    const decisions = [
      await service.consume('mixed', limits),
      await service.consume('mixed', limits),
      await service.consume('mixed', limits),
    ];
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, false]);
    // the fixed window denied the third: the bucket and the sliding window paid nothing
    expect(decisions[2]!.limits.map((limit) => limit.remaining)).toEqual([1, 0, 2]);
    expect(await scriptCalls()).toBe(before + 3);
    const keys = await Promise.all(
      client.nodes('master').map((master) => master.keys(`${prefix}*mixed*`)),
    );
    expect(keys.map((found) => found.length).sort()).toEqual([0, 0, 3]);
  });

  it("the decisions of one turn share a call per identity's slot, each identity judged exactly", async () => {
    const limit: LimitOptions = { capacity: 3, refill: '3/h' };
    const identities = Array.from({ length: 30 }, (_, i) => `turn-${i}`);
    await service.peek('warm-up', limit);
    // the script is loaded on every master (evenly spread identities reach all three)
    await Promise.all(identities.map((identity) => service.peek(identity, limit)));
    const before = await scriptCalls();
    const decisions = await Promise.all(
      identities.flatMap((identity) =>
        Array.from({ length: 5 }, () => service.consume(identity, limit)),
      ),
    );
    // 5 decisions of each identity in one call on its master: 30 calls for 150 decisions
    expect(await scriptCalls()).toBe(before + identities.length);
    identities.forEach((_, i) => {
      const own = decisions.slice(5 * i, 5 * i + 5);
      expect(own.map((decision) => decision.allowed)).toEqual([true, true, true, false, false]);
      expect(own.map((decision) => decision.remaining)).toEqual([2, 1, 0, 0, 0]);
    });
  });

  // Last: it moves a slot, which the tests above do not expect.
  it('a slot migrating to another master during traffic: every decision is made, none twice', async () => {
    const bucket = key('migrating');
    const rule = { capacity: 1_000, usPerToken: HOUR_US };
    await takeFlat(store, [bucket], [rule], [10], true);
    const slot = await client.cluster('KEYSLOT', bucket);
    const ranges = await client.cluster('SLOTS');
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to)![2]!;
    const target = ranges.find((range) => range[2]![1] !== owner[1])![2]!;
    const node = (port: number) => client.nodes('master').find((n) => n.options.port === port)!;
    const [source, destination] = [node(owner[1]), node(target[1])];

    let taken = 0;
    let migrating = true;
    const traffic = (async () => {
      for (let i = 0; i < 2_000 && (migrating || i < 20); i++) {
        await takeFlat(store, [bucket], [rule], [1], true);
        taken++;
      }
    })();
    const takenBefore = taken;
    await destination.cluster('SETSLOT', slot, 'IMPORTING', owner[2]);
    await source.cluster('SETSLOT', slot, 'MIGRATING', target[2]);
    const keys = await source.cluster('GETKEYSINSLOT', slot, 100);
    expect(keys).toContain(bucket);
    await source.migrate('127.0.0.1', target[1], '', 0, 5_000, 'KEYS', ...keys);
    for (const master of client.nodes('master')) {
      await master.cluster('SETSLOT', slot, 'NODE', target[2]);
    }
    migrating = false;
    const takenDuring = taken - takenBefore;
    await traffic;

    expect(takenDuring).toBeGreaterThan(0);
    expect(taken).toBeGreaterThanOrEqual(20);
    await expect(destination.exists(bucket)).resolves.toBe(1);
    await expect(takeFlat(store, [bucket], [rule], [1], false)).resolves.toEqual([
      1_000 - 10 - taken,
      expect.any(Number),
      0,
    ]);
  });

  it("blocks: the block key shares its identity's slot, read in the same script call as the buckets", async () => {
    const blocking = new RateLimitEngine(
      resolveModuleOptions({
        redis: client,
        keyPrefix: prefix,
        timeoutMs: 1_000,
        blocks: 'always',
      }),
    );
    try {
      const limiter = new RateLimitService(blocking);
      const limits: LimitOptions[] = [
        { name: 'a', capacity: 5, refill: '5/hour' },
        { name: 'b', capacity: 5, refill: '5/hour' },
      ];
      await limiter.block('user:7', 60_000, limits[0]);
      const blocked = await limiter.consume('user:7', limits);
      expect(blocked).toMatchObject({ allowed: false, source: 'block' });
      expect(blocked.limits.map((limit) => limit.allowed)).toEqual([false, true]);
      expect(await client.cluster('KEYSLOT', `${prefix}{user:7}:block`)).toBe(
        await client.cluster('KEYSLOT', key('service:a', 'user:7')),
      );
      expect(await limiter.consume('user:8', limits)).toMatchObject({ allowed: true });
      await limiter.unblock('user:7');
      expect(await limiter.consume('user:7', limits)).toMatchObject({ allowed: true });
    } finally {
      await blocking.onModuleDestroy();
    }
  });

  it("instances: 'auto' counts live instances in one key of the fleet's slot", async () => {
    const options = resolveModuleOptions({
      redis: client,
      keyPrefix: prefix,
      timeoutMs: 1_000,
      instances: 'auto',
    });
    const engines = [new RateLimitEngine(options), new RateLimitEngine(options)];
    const live = () => client.zcard(`${prefix}{~fleet}:instances`);
    try {
      for (let i = 0; i < 40 && (await live()) !== 2; i++) await sleep(50);
      expect(await live()).toBe(2);
      await engines.pop()!.onModuleDestroy();
      expect(await live()).toBe(1);
    } finally {
      await Promise.all(engines.map((engine) => engine.onModuleDestroy()));
    }
  });

  it('concurrency slots: max per identity, each identity on the slot of its hash tag', async () => {
    const TWO = { max: 2, scope: 'reports' };
    const identities = Array.from({ length: 12 }, (_, i) => `user:${i}`);
    const tries = await Promise.all(
      identities.flatMap((identity) => [1, 2, 3].map(() => service.acquire(identity, TWO))),
    );
    expect(tries.filter(({ allowed }) => allowed)).toHaveLength(24);
    expect(tries.every(({ source }) => source === 'redis')).toBe(true);
    const perMaster = await Promise.all(
      client.nodes('master').map((node) => node.keys(`${prefix}{*}:in-flight:reports:in-flight`)),
    );
    // One key per identity, each on its own slot's master: twelve spread over the three.
    expect(perMaster.flat()).toHaveLength(12);
    expect(perMaster.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
    await Promise.all(tries.map((decision) => decision.release()));
    const again = await Promise.all(identities.map((identity) => service.acquire(identity, TWO)));
    expect(again.every(({ allowed, remaining }) => allowed && remaining === 1)).toBe(true);
    await Promise.all(again.map((decision) => decision.release()));
  });
});
