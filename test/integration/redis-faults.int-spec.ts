import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type LimitOptions, type RateLimitDecision, RateLimitService } from 'nest-redis-rate-limit';
import { useRateLimitModules } from '../support/rate-limit-modules.js';
import { freePort, type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';

const TIMEOUT_MS = 100;
/**
 * Generous: the machine is shared; the point is "bounded", not "fast" (unbounded, a decision
 * would wait for the SIGCONT, which comes after the check).
 */
const MARGIN_MS = 400;
/** Issue 3: decisions come from Redis again within 2 s of it being back. */
const RECOVERY_MS = 2_000;

const OPEN: LimitOptions = { name: 'open', capacity: 5, refill: '1/hour' };
const CLOSED: LimitOptions = { ...OPEN, name: 'closed', failureStrategy: 'closed' };

describe('Redis faults', () => {
  let server: RedisServerProcess | undefined;
  const createModule = useRateLimitModules();

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function startService(url: string): Promise<RateLimitService> {
    const moduleRef = await createModule({ redis: url, timeoutMs: TIMEOUT_MS });
    return moduleRef.get(RateLimitService);
  }

  it('a stopped redis-server: decisions follow the failure strategy in time, then Redis again after a restart', async () => {
    server = await startRedisServer();
    const { port } = server;
    const service = await startService(server.url);
    expect((await service.consume('user:1', OPEN)).storeError).toBeUndefined();

    await server.stop();
    await expectBoundedFailure(service);

    server = await startRedisServer({ port });
    await pollUntilFromRedis(service);
    // the new server started empty; two consumes show its state, not a failure decision's
    await service.consume('user:1', OPEN);
    await expect(service.consume('user:1', OPEN)).resolves.toMatchObject({
      allowed: true,
      remaining: 3,
    });
  });

  it('a SIGSTOP-paused redis-server: decisions time out within timeoutMs, then Redis answers after SIGCONT', async () => {
    server = await startRedisServer();
    const service = await startService(server.url);
    expect((await service.consume('user:1', OPEN)).storeError).toBeUndefined();

    process.kill(server.pid, 'SIGSTOP');
    try {
      const failures = await expectBoundedFailure(service);
      expect(failures.map((decision) => decision.storeError?.failure)).toEqual([
        'timeout',
        'timeout',
      ]);
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
    await pollUntilFromRedis(service);
  });

  it('FLUSHALL under traffic: the next decisions still come from Redis, from full buckets', async () => {
    server = await startRedisServer();
    const service = await startService(server.url);
    for (let i = 0; i < 5; i++) await service.consume('user:1', OPEN);
    expect((await service.consume('user:1', OPEN)).allowed).toBe(false);
    for (let i = 0; i < 3; i++) await service.consume('user:2', OPEN);

    const { Redis } = await import('ioredis');
    const admin = new Redis(server.url);
    try {
      await admin.flushall();
    } finally {
      admin.disconnect();
    }
    // Every bucket is gone, so full again: the documented cost of a FLUSHALL. This instance's
    // deny cache still holds user:1's denial (documented: until it would have expired); a bucket
    // it never denied shows Redis answering from scratch, script cache intact or reloaded.
    expect(await service.consume('user:1', OPEN)).toMatchObject({ allowed: false });
    expect(await service.consume('user:2', OPEN)).toMatchObject({ allowed: true, remaining: 4 });
    expect((await service.consume('user:2', OPEN)).storeError).toBeUndefined();
  });

  it('starts while Redis is unreachable and uses it once it comes up, without a restart', async () => {
    const port = await freePort();
    const started = performance.now();
    const service = await startService(`redis://127.0.0.1:${port}`);
    expect(performance.now() - started).toBeLessThan(5_000);

    await expectBoundedFailure(service);

    server = await startRedisServer({ port });
    const recovered = await pollUntilFromRedis(service);
    expect(recovered.allowed).toBe(true);
  });
});

/** Asserts an 'open' and a 'closed' decision, each within timeoutMs + margin; returns them. */
async function expectBoundedFailure(service: RateLimitService): Promise<RateLimitDecision[]> {
  const open = await timed(() => service.consume('user:1', OPEN));
  expect(open.elapsedMs).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
  expect(open.decision.allowed).toBe(true);
  expect(open.decision.storeError).toBeDefined();

  const closed = await timed(() => service.consume('user:1', CLOSED));
  expect(closed.elapsedMs).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
  expect(closed.decision.allowed).toBe(false);
  expect(closed.decision.storeError).toBeDefined();
  return [open.decision, closed.decision];
}

async function timed(
  decide: () => Promise<RateLimitDecision>,
): Promise<{ decision: RateLimitDecision; elapsedMs: number }> {
  const started = performance.now();
  const decision = await decide();
  return { decision, elapsedMs: performance.now() - started };
}

/** Peeks until a decision comes from Redis (no storeError), for at most RECOVERY_MS. */
async function pollUntilFromRedis(service: RateLimitService): Promise<RateLimitDecision> {
  const deadline = performance.now() + RECOVERY_MS;
  let decision = await service.peek('user:1', OPEN);
  while (decision.storeError !== undefined && performance.now() < deadline) {
    await sleep(50);
    decision = await service.peek('user:1', OPEN);
  }
  expect(decision.storeError).toBeUndefined();
  return decision;
}
