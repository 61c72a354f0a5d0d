import { EventEmitter } from 'node:events';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RateLimitConfigError } from 'nest-redis-rate-limit';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';
import type { RateLimitModuleOptions } from '../../lib/options/rate-limit-module-options.interface.js';
import { BreakerLayer } from '../../lib/pipeline/breaker.layer.js';
import { buildPipeline, type Pipeline } from '../../lib/pipeline/build-pipeline.js';
import { RateLimitEngine } from '../../lib/rate-limit.engine.js';
import { RedisRateLimitStore } from '../../lib/stores/redis.store.js';
import { queryOf } from '../support/bucket-results.js';

const problemsOf = (circuitBreaker: unknown): readonly string[] => {
  try {
    resolveModuleOptions({ circuitBreaker } as RateLimitModuleOptions);
  } catch (error) {
    if (error instanceof RateLimitConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('circuitBreaker module option', () => {
  it('defaults to 5 consecutive failures and a 1 s cool-down', () => {
    expect(resolveModuleOptions({}).circuitBreaker).toEqual({
      failureThreshold: 5,
      cooldownMs: 1_000,
    });
  });

  it('fills the fields left out and keeps false as off', () => {
    expect(resolveModuleOptions({ circuitBreaker: { cooldownMs: 250 } }).circuitBreaker).toEqual({
      failureThreshold: 5,
      cooldownMs: 250,
    });
    expect(resolveModuleOptions({ circuitBreaker: false }).circuitBreaker).toBe(false);
  });

  it.each([
    [true, /circuitBreaker must be an object or false/],
    [
      { failureThreshold: 0 },
      /circuitBreaker.failureThreshold must be a positive integer \(got 0\)/,
    ],
    [{ failureThreshold: 1.5 }, /circuitBreaker.failureThreshold must be a positive integer/],
    [{ cooldownMs: -1 }, /circuitBreaker.cooldownMs must be a positive integer \(got -1\)/],
    [{ cooldownMs: '1s' }, /circuitBreaker.cooldownMs must be a positive integer/],
  ])('rejects %p', (value, message) => {
    expect(problemsOf(value)).toEqual([expect.stringMatching(message)]);
  });

  it('wraps a Redis store in the breaker unless it is off', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const settings = { timeoutMs: 50, memoryStoreMaxKeys: 10 };
    // lazyConnect: these clients never touch the network.
    const redis = { host: '127.0.0.1', port: 1, lazyConnect: true };
    const pipeline = (options: RateLimitModuleOptions): Pipeline =>
      buildPipeline(resolveModuleOptions({ ...settings, ...options, redis }));
    const wrapped = pipeline({ circuitBreaker: { failureThreshold: 2, cooldownMs: 9 } });
    const bare = pipeline({ circuitBreaker: false });
    try {
      expect(wrapped.breaker).toBeInstanceOf(BreakerLayer);
      expect(wrapped.store).toBeInstanceOf(RedisRateLimitStore);
      expect(bare.breaker).toBeUndefined();
      expect(bare.store).toBeInstanceOf(RedisRateLimitStore);
      // The breaker sits between the pipeline's top and the store: the store's failures (a
      // client that never connected) open it.
      const rule = { algorithm: tokenBucket, capacity: 1, usPerToken: 1_000 };
      const query = queryOf([{ key: 'k', rule, cost: 1 }], true);
      for (let i = 0; i < 2; i++) {
        await expect(wrapped.top.take(query)).resolves.toMatchObject({ source: 'fail-open' });
      }
      expect(wrapped.breaker!.breaker.state).toBe('open');
    } finally {
      await wrapped.top.close();
      await bare.top.close();
      jest.restoreAllMocks();
    }
  });

  it('still waits at module init for the Redis store to be ready, breaker on', async () => {
    const client = Object.assign(new EventEmitter(), {
      status: 'connecting',
      defineCommand: () => undefined,
    });
    const engine = new RateLimitEngine(
      resolveModuleOptions({ redis: client as unknown as Redis, readyWaitMs: 60_000 }),
    );
    let ready = false;
    const init = engine.onModuleInit().then(() => {
      ready = true;
    });
    try {
      expect(engine.breaker).toBeInstanceOf(BreakerLayer);
      await new Promise((resolve) => setImmediate(resolve));
      expect(ready).toBe(false);
      client.status = 'ready';
      client.emit('ready');
      await init;
      expect(ready).toBe(true);
    } finally {
      await engine.onModuleDestroy();
    }
  });
});
