import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  type LimitOptions,
  RateLimitModule,
  type RateLimitDecision,
  RateLimitService,
} from 'nest-redis-rate-limit';
import {
  type RedisSentinelProcesses,
  redisCli,
  startRedisSentinel,
} from '../support/redis-sentinel.mjs';

/** Sentinel notices after down-after (1 s) and promotes within a few more; 20 s is generous. */
const FAILOVER_WITHIN_MS = 20_000;
/** A READONLY reply makes the client reconnect at once; the sentinel already names the new master. */
const READONLY_RECOVERY_WITHIN_MS = 5_000;
const LIMIT: LimitOptions = { name: 'sentinel', capacity: 5, refill: '1/hour' };

describe('Redis Sentinel', () => {
  let setup: RedisSentinelProcesses | undefined;
  let moduleRef: TestingModule | undefined;
  let keyPrefix = '';

  beforeEach(async () => {
    // Fails (not skips) with an install hint when no sentinel binary is found.
    setup = await startRedisSentinel();
    keyPrefix = `test:${randomUUID()}:`;
  });

  afterEach(async () => {
    await moduleRef?.close();
    await setup?.stop();
    moduleRef = undefined;
    setup = undefined;
  });

  async function startService(sentinel: RedisSentinelProcesses): Promise<RateLimitService> {
    moduleRef = await Test.createTestingModule({
      imports: [
        RateLimitModule.forRoot({
          redis: { sentinels: [...sentinel.sentinels], name: sentinel.name },
          keyPrefix,
          global: false,
        }),
      ],
    }).compile();
    await moduleRef.init();
    return moduleRef.get(RateLimitService);
  }

  /** The bucket key of LIMIT for `user:1` through the service: `<prefix>service:<name>:{user:1}`. */
  const bucketKey = (): string => `${keyPrefix}service:${LIMIT.name}:{user:1}`;

  /** Consumes once from the master and waits until the replica holds the bucket too. */
  async function consumeOnMaster(
    service: RateLimitService,
    sentinel: RedisSentinelProcesses,
  ): Promise<void> {
    const first = await service.consume('user:1', LIMIT);
    expect(first.storeError).toBeUndefined();
    expect(first.remaining).toBe(4);
    expect(await redisCli(sentinel.master.port, 'exists', bucketKey())).toBe('1');
    // Replication is asynchronous (WAIT would only count this client's own writes, not the
    // module's): poll the replica, so a kill cannot lose the bucket in flight.
    await waitFor(
      async () => (await redisCli(sentinel.replica.port, 'exists', bucketKey())) === '1',
      'the replica to hold the bucket',
    );
  }

  it('kill -9 of the master: the sentinel promotes the replica and decisions come from it, without a restart', async () => {
    const sentinel = setup!;
    const service = await startService(sentinel);
    await consumeOnMaster(service, sentinel);

    process.kill(sentinel.master.pid, 'SIGKILL');
    await sentinel.master.exited;
    const startedMs = performance.now();
    const recovered = await pollUntilFromRedis(service, FAILOVER_WITHIN_MS);
    expect(performance.now() - startedMs).toBeLessThan(FAILOVER_WITHIN_MS);
    expect(recovered.allowed).toBe(true);

    expect(await sentinel.masterPort()).toBe(sentinel.replica.port);
    expect(await redisCli(sentinel.replica.port, 'info', 'replication')).toContain('role:master');
    // The old master is dead: this decision can only come from the promoted replica, which
    // still holds the replicated bucket (one token taken before the failover, one now).
    const next = await service.consume('user:1', LIMIT);
    expect(next.storeError).toBeUndefined();
    expect(next.remaining).toBe(3);
    expect(await redisCli(sentinel.replica.port, 'exists', bucketKey())).toBe('1');
  });

  it('a master demoted under a live connection answers READONLY: the client reconnects through the sentinel to the new master, without replaying the failed script', async () => {
    const sentinel = setup!;
    const service = await startService(sentinel);
    await consumeOnMaster(service, sentinel);
    const { master, replica, name } = sentinel;

    // A switch made behind the client's back (by hand, as in a partition): the sentinel's own
    // failover would kill the demoted server's clients, so no READONLY would be seen.
    await redisCli(replica.port, 'replicaof', 'no', 'one');
    await redisCli(sentinel.sentinel.port, 'sentinel', 'remove', name);
    await redisCli(
      sentinel.sentinel.port,
      'sentinel',
      'monitor',
      name,
      '127.0.0.1',
      String(replica.port),
      '1',
    );
    expect(await sentinel.masterPort()).toBe(replica.port);
    await redisCli(master.port, 'replicaof', '127.0.0.1', String(replica.port));
    await waitFor(
      async () =>
        (await redisCli(master.port, 'info', 'replication')).includes('master_link_status:up'),
      'the old master to replicate from the new one',
    );

    // The client is still connected to the old master, which now refuses the script's write.
    const refused = await service.consume('user:1', LIMIT);
    expect(refused.allowed).toBe(true);
    expect(refused.storeError?.message).toContain('READONLY');

    const recovered = await pollUntilFromRedis(service, READONLY_RECOVERY_WITHIN_MS);
    expect(recovered.allowed).toBe(true);
    // 5 - 1 (before the switch) - 1 (now): the refused script was not resent to the new master.
    const next = await service.consume('user:1', LIMIT);
    expect(next.storeError).toBeUndefined();
    expect(next.remaining).toBe(3);
    expect(await redisCli(replica.port, 'exists', bucketKey())).toBe('1');
  });
});

/** Peeks every 100 ms until a decision comes from Redis (no storeError), for at most withinMs. */
async function pollUntilFromRedis(
  service: RateLimitService,
  withinMs: number,
): Promise<RateLimitDecision> {
  const deadline = performance.now() + withinMs;
  let decision = await service.peek('user:1', LIMIT);
  while (decision.storeError !== undefined && performance.now() < deadline) {
    await sleep(100);
    decision = await service.peek('user:1', LIMIT);
  }
  expect(decision.storeError).toBeUndefined();
  return decision;
}

/** Polls `check` every 50 ms for at most 5 s. */
async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`waited 5 s for ${what}`);
}
