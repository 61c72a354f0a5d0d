import { RateLimitConfigError } from 'nest-redis-rate-limit';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';
import type { RateLimitModuleOptions } from '../../lib/options/rate-limit-module-options.interface.js';
import { CircuitBreakerStore } from '../../lib/stores/circuit-breaker.store.js';
import { createStore } from '../../lib/stores/create-store.js';
import { RedisRateLimitStore } from '../../lib/stores/redis.store.js';

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
    const settings = { timeoutMs: 50, memoryStoreMaxKeys: 10 };
    // lazyConnect: these clients never touch the network.
    const redis = { host: '127.0.0.1', port: 1, lazyConnect: true };
    const wrapped = createStore({
      ...settings,
      redis,
      circuitBreaker: { failureThreshold: 2, cooldownMs: 9 },
    });
    const bare = createStore({ ...settings, redis, circuitBreaker: false });
    expect(wrapped).toBeInstanceOf(CircuitBreakerStore);
    expect((wrapped as CircuitBreakerStore).inner).toBeInstanceOf(RedisRateLimitStore);
    expect(bare).toBeInstanceOf(RedisRateLimitStore);
    await (wrapped as CircuitBreakerStore).onModuleDestroy();
    await (bare as RedisRateLimitStore).onModuleDestroy();
  });
});
