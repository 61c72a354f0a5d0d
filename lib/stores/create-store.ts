import { Logger } from '@nestjs/common';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { RATE_LIMIT_LOG_CONTEXT } from '../rate-limit.constants.js';
import type { RateLimitModuleOptions } from '../options/rate-limit-module-options.interface.js';
import type { CircuitBreakerSettings } from './circuit-breaker.js';
import { CircuitBreakerStore } from './circuit-breaker.store.js';
import { createClusterClient, isClusterConfig } from './cluster-client.js';
import { MemoryRateLimitStore } from './memory.store.js';
import { logClientErrors, RedisRateLimitStore } from './redis.store.js';
import type { RateLimitStore } from './rate-limit-store.interface.js';

/**
 * Options of the clients the module creates. Rate-limit commands must never be queued while
 * offline or retried after a reconnect: a decision is bounded by timeoutMs, and a command
 * replayed later would consume tokens for a request already answered.
 */
const OWN_CLIENT_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: (attempt: number) => Math.min(50 * attempt, 500),
  // A master demoted to replica under a live connection answers READONLY: reconnect, which asks
  // the sentinels for the new master. 1, not 2: a resent script could consume a request twice.
  reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 1 : false),
} satisfies RedisOptions;

export interface StoreSettings {
  readonly redis: RateLimitModuleOptions['redis'];
  readonly timeoutMs: number;
  readonly memoryStoreMaxKeys: number;
  /** Wraps a Redis store in a circuit breaker; absent or false, the store is used bare. */
  readonly circuitBreaker?: CircuitBreakerSettings | false;
}

export function createStore(settings: StoreSettings): RateLimitStore {
  const logger = new Logger(RATE_LIMIT_LOG_CONTEXT);
  const { redis } = settings;
  if (redis === undefined) {
    logger.log(
      'No redis configured: using the in-process memory store, which limits this process only.',
    );
    return new MemoryRateLimitStore(settings.memoryStoreMaxKeys);
  }
  if (isClient(redis)) {
    return withBreaker(new RedisRateLimitStore(redis, false, settings.timeoutMs), settings);
  }

  const client = isClusterConfig(redis)
    ? createClusterClient(redis)
    : typeof redis === 'string'
      ? new Redis(redis, OWN_CLIENT_OPTIONS)
      : new Redis({ ...withoutReplyMapping(redis), ...OWN_CLIENT_OPTIONS });
  logClientErrors(client, logger);
  return withBreaker(new RedisRateLimitStore(client, true, settings.timeoutMs), settings);
}

function withBreaker(store: RedisRateLimitStore, settings: StoreSettings): RateLimitStore {
  const breaker = settings.circuitBreaker;
  return breaker === undefined || breaker === false
    ? store
    : new CircuitBreakerStore(store, breaker);
}

/** A client the user passes in: recognised by what we call on it, not by class or instanceof. */
export function isClient(value: unknown): value is Redis | Cluster {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<Redis>).defineCommand === 'function' &&
    typeof (value as Partial<Redis>).status === 'string'
  );
}

/** Our clients use the default reply mapping, which the script's reply check expects. */
function withoutReplyMapping(options: RedisOptions): Omit<RedisOptions, 'replyMapping'> {
  const { replyMapping: _ignored, ...rest } = options;
  return rest;
}
