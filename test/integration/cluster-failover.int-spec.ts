import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from 'ioredis';
import { RateLimitStoreError, type RedisRateLimitStore } from 'nest-redis-rate-limit';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';
import { buildPipeline } from '../../lib/pipeline/build-pipeline.js';
import { takeFlat } from '../support/flat-take.js';
import {
  clusterCli,
  type RedisClusterProcesses,
  startRedisCluster,
} from '../support/redis-cluster.mjs';

const TIMEOUT_MS = 250;
const RULE = { capacity: 10, usPerToken: 3_600_000_000 };
const KEY = 'failover:{user:victim}';

describe('Redis Cluster failover of one master during traffic', () => {
  let cluster: RedisClusterProcesses;
  let store: RedisRateLimitStore;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1 });
    store = buildPipeline(
      resolveModuleOptions({ redis: { cluster: cluster.nodes }, timeoutMs: TIMEOUT_MS }),
    ).store as RedisRateLimitStore;
    await store.waitUntilReady();
  }, 30_000);
  afterAll(async () => {
    await store?.close();
    await cluster?.stop();
  });

  it('decisions fail fast while the replica takes over, then continue with the bucket intact', async () => {
    await takeFlat(store, [KEY], [RULE], [3], true);
    const client = store.client as Cluster;
    const slot = await client.cluster('KEYSLOT', KEY);
    const master = cluster.servers.find((server) => servesSlot(server.port, slot))!;
    const replica = cluster.servers.find((server) =>
      clusterCli(server.port, 'info', 'replication').includes(`master_port:${master.port}`),
    )!;
    await waitUntil(() => replicationOffset(replica.port) >= replicationOffset(master.port), 5_000);

    await master.stop();
    const started = performance.now();
    let failures = 0;
    let slowestMs = 0;
    let recovered: number[] | undefined;
    while (performance.now() - started < 20_000 && recovered === undefined) {
      const callStarted = performance.now();
      try {
        recovered = await takeFlat(store, [KEY], [RULE], [1], false);
      } catch (error) {
        expect(error).toBeInstanceOf(RateLimitStoreError);
        failures++;
      }
      slowestMs = Math.max(slowestMs, performance.now() - callStarted);
      await sleep(50);
    }
    expect(recovered).toEqual([7, expect.any(Number), 0]);
    expect(failures).toBeGreaterThan(0);
    expect(slowestMs).toBeLessThan(TIMEOUT_MS + 200);
    await expect(takeFlat(store, [KEY], [RULE], [1], true)).resolves.toEqual([
      6,
      expect.any(Number),
      0,
    ]);
  }, 30_000);
});

function servesSlot(port: number, slot: number): boolean {
  const self = clusterCli(port, 'cluster', 'nodes')
    .split('\n')
    .find((line) => line.includes('myself,master'));
  if (self === undefined) return false;
  return self
    .split(' ')
    .slice(8)
    .some((range) => {
      const [from, to = from] = range.split('-').map(Number);
      return slot >= from! && slot <= to!;
    });
}

function replicationOffset(port: number): number {
  const info = clusterCli(port, 'info', 'replication');
  const match = /(?:slave_repl_offset|master_repl_offset):(\d+)/.exec(info);
  return Number(match?.[1] ?? -1);
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await sleep(20);
  }
}
