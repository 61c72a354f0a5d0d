import { randomUUID } from 'node:crypto';
import type { LimitOptions } from 'nest-redis-rate-limit';
import { resolveLimits } from '../../lib/options/resolve-limits.js';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';
import { RateLimitEngine } from '../../lib/rate-limit.engine.js';
import { type RedisClusterProcesses, startRedisCluster } from '../support/redis-cluster.mjs';

/**
 * On a Cluster, a leasing request whose limits sit in two slots (two identities) is routed
 * through a plain take. One such request that times out is one failure for the circuit breaker:
 * it used to be counted twice (by the store's observer and by the breaker around the lease).
 */
describe('circuit breaker on a Cluster: a multi-slot leasing request', () => {
  let cluster: RedisClusterProcesses;
  let engine: RateLimitEngine;
  let paused: number[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    engine = new RateLimitEngine(
      resolveModuleOptions({
        redis: { cluster: cluster.nodes },
        keyPrefix: `lease-breaker:${randomUUID()}:`,
        timeoutMs: 200,
        circuitBreaker: { failureThreshold: 2, cooldownMs: 60_000 },
      }),
    );
    await engine.onModuleInit();
  }, 30_000);
  afterAll(async () => {
    for (const pid of paused) process.kill(pid, 'SIGCONT');
    await engine?.onModuleDestroy();
    await cluster?.stop();
  });

  it('one timed-out request is one failure: the breaker (threshold 2) stays closed after it and opens after a second', async () => {
    const limit = (name: string): LimitOptions => ({
      name,
      capacity: 100,
      refill: '1/min',
      lease: { tokens: 5 },
    });
    // 'a' and 'b' hash to different slots of a 3-master cluster (see cluster.int-spec.ts).
    const rules = resolveLimits([limit('l0'), limit('l1')], 'test');
    const query = {
      requests: rules.map((rule, i) => ({
        key: `${engine.options.keyPrefix}s:${rule.name}:{${i === 0 ? 'a' : 'b'}}`,
        rule,
        cost: 1,
        lease: rule.lease!,
      })),
      mode: 'consume' as const,
      failureStrategy: 'open' as const,
    };
    // Warm up: both slots answer, the breaker is closed.
    await expect(engine.decide(['l0', 'l1'], query)).resolves.toMatchObject({ source: 'redis' });

    paused = cluster.servers.map((server) => server.pid);
    for (const pid of paused) process.kill(pid, 'SIGSTOP');
    const first = await engine.decide(['l0', 'l1'], query);
    expect(first.source).toBe('fail-open');
    expect(engine.breaker!.breaker.state).toBe('closed');
    const second = await engine.decide(['l0', 'l1'], query);
    expect(second.source).toBe('fail-open');
    expect(engine.breaker!.breaker.state).toBe('open');
  }, 30_000);
});
