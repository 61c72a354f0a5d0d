import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Test, type TestingModule } from '@nestjs/testing';
import { type LimitOptions, RateLimitModule, RateLimitService } from 'nest-redis-rate-limit';
import { RateLimitEngine } from '../../lib/rate-limit.engine.js';
import type { CircuitBreaker } from '../../lib/pipeline/circuit-breaker.js';
import { type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';

const TIMEOUT_MS = 200;
const THRESHOLD = 5;
const COOLDOWN_MS = 1_000;
/** Decisions while the circuit is open must not pay the timeout: median under 1/40 of it. */
const FAST_MS = 5;
const LIMIT = { name: 'breaker', capacity: 1_000, refill: '1/hour' } satisfies LimitOptions;

describe('circuit breaker against a real redis-server', () => {
  let server: RedisServerProcess | undefined;
  let moduleRef: TestingModule | undefined;

  afterEach(async () => {
    if (server?.process.exitCode === null && server.process.signalCode === null) {
      process.kill(server.pid, 'SIGCONT');
    }
    await moduleRef?.close();
    await server?.stop();
    moduleRef = undefined;
    server = undefined;
  });

  async function start(
    url: string,
  ): Promise<{ service: RateLimitService; store: { breaker: CircuitBreaker } }> {
    moduleRef = await Test.createTestingModule({
      imports: [
        RateLimitModule.forRoot({
          redis: url,
          timeoutMs: TIMEOUT_MS,
          keyPrefix: `test:${randomUUID()}:`,
          global: false,
          circuitBreaker: { failureThreshold: THRESHOLD, cooldownMs: COOLDOWN_MS },
        }),
      ],
    }).compile();
    await moduleRef.init();
    return {
      service: moduleRef.get(RateLimitService),
      store: moduleRef.get(RateLimitEngine).breaker!,
    };
  }

  /** Times `count` decisions made one after the other; every one must be a failure decision. */
  async function timeFailedDecisions(service: RateLimitService, count: number): Promise<number[]> {
    const durationsMs: number[] = [];
    for (let i = 0; i < count; i++) {
      const startedMs = performance.now();
      const decision = await service.consume('user:1', LIMIT);
      durationsMs.push(performance.now() - startedMs);
      expect(decision.storeError).toBeDefined();
    }
    return durationsMs;
  }

  /** Polls (bounded) until a decision comes from Redis; resolves the time it took. */
  async function msUntilFromRedis(service: RateLimitService, withinMs: number): Promise<number> {
    const startedMs = performance.now();
    while (performance.now() - startedMs < withinMs) {
      const decision = await service.consume('user:1', LIMIT);
      if (decision.storeError === undefined) return performance.now() - startedMs;
      await sleep(20);
    }
    throw new Error(`no decision from Redis within ${withinMs} ms`);
  }

  it('a killed server: after the threshold decisions are immediate, and Redis decides again within 2 s of a restart on the same port', async () => {
    server = await startRedisServer();
    const { port } = server;
    const { service, store } = await start(server.url);
    expect((await service.consume('user:1', LIMIT)).storeError).toBeUndefined();

    await server.stop();
    await timeFailedDecisions(service, THRESHOLD);
    expect(store.breaker.state).toBe('open');
    const openMs = await timeFailedDecisions(service, 20);
    expect(median(openMs)).toBeLessThan(FAST_MS);
    // a busy shared machine may stall one call; none may come near the timeout
    expect(Math.max(...openMs)).toBeLessThan(TIMEOUT_MS / 2);

    server = await startRedisServer({ port });
    await msUntilFromRedis(service, 2_000);
    expect(store.breaker.state).toBe('closed');
    // the restarted server is empty: the bucket was created there, by this decision
    const next = await service.consume('user:1', LIMIT);
    expect(next.storeError).toBeUndefined();
    expect(next.remaining).toBe(LIMIT.capacity - 2);
  });

  it('a paused server (SIGSTOP): the timeout is paid only until the circuit opens, and Redis decides again after SIGCONT', async () => {
    server = await startRedisServer();
    const { service, store } = await start(server.url);
    expect((await service.consume('user:1', LIMIT)).storeError).toBeUndefined();

    process.kill(server.pid, 'SIGSTOP');
    const timedOutMs = await timeFailedDecisions(service, THRESHOLD);
    expect(Math.min(...timedOutMs)).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(store.breaker.state).toBe('open');
    const openMs = await timeFailedDecisions(service, 20);
    expect(median(openMs)).toBeLessThan(FAST_MS);
    // a busy shared machine may stall one call; none may come near the timeout
    expect(Math.max(...openMs)).toBeLessThan(TIMEOUT_MS / 2);

    process.kill(server.pid, 'SIGCONT');
    // the cool-down must end before the probe; 1 s + a probe, with margin for a busy machine
    await msUntilFromRedis(service, COOLDOWN_MS + 1_000);
    expect(store.breaker.state).toBe('closed');
  });
});

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
