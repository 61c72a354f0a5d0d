/** Defaults and bounds of every option, in one place; defaults are applied with `??` only. */

/** Defaults of RateLimitModuleOptions. */
export const DEFAULT_MODULE_OPTIONS = {
  keyPrefix: 'rl:',
  failureStrategy: 'open',
  instances: 1,
  timeoutMs: 100,
  readyWaitMs: 2000,
  keyBy: 'ip',
  headers: true,
  ipv6Subnet: 64,
  memoryStoreMaxKeys: 100_000,
  denyCache: { maxKeys: 10_000 },
  circuitBreaker: { failureThreshold: 5, cooldownMs: 1_000 },
  metrics: true,
  shadow: false,
  blocks: 'auto',
} as const;

/** Defaults of LimitOptions. */
export const DEFAULT_LIMIT_OPTIONS = {
  name: 'default',
  cost: 1,
  algorithm: 'token-bucket',
  leaseTtlMs: 1000,
  chargeOn: 'always',
} as const;

/**
 * A repeated problem (a store failing, a keyBy function throwing) is logged at once, then at most
 * this often with a count of what was held back: an outage is visible without a line a second.
 */
export const REPEATED_LOG_INTERVAL_MS = 30_000;

/** A scope's shadow-mode would-be denials are logged at most this often, with a count. */
export const SHADOW_LOG_INTERVAL_MS = 1_000;

/** Milliseconds a fail-closed denial asks the client to wait (the 503's Retry-After: 1). */
export const FAIL_CLOSED_RETRY_AFTER_MS = 1000;

/** Longest block (RateLimitService.block): a year; an identity kept out for good is a denyList entry. */
export const MAX_BLOCK_MS = 366 * 86_400_000;

/** Largest capacity: keeps the float arithmetic of the bucket far from its precision limits. */
export const MAX_CAPACITY = 1_000_000_000;
/** Fastest refill: one token per microsecond. */
export const MIN_US_PER_TOKEN = 1;
/** Longest time to refill from empty: a bucket that takes longer is a quota, not a rate. */
export const MAX_WINDOW_US = 366 * 86_400 * 1_000_000;
/** Name of a limit: a token of the RateLimit header's quoted string. */
export const LIMIT_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Scope: no braces (they would move the Cluster hash tag), no spaces or glob characters. */
export const SCOPE_PATTERN = /^[A-Za-z0-9_.:/@=+-]{1,128}$/;
/** Key prefix: as a scope, and may be empty. */
export const KEY_PREFIX_PATTERN = /^[A-Za-z0-9_.:/@=+-]{0,64}$/;

/** Defaults and bounds of ConcurrencyLimitOptions. */
export const DEFAULT_CONCURRENCY_OPTIONS = {
  name: 'in-flight',
  leaseMs: 30_000,
  retryAfterMs: 1_000,
} as const;
export const MAX_IN_FLIGHT = 100_000;
export const MIN_SLOT_LEASE_MS = 1_000;
export const MAX_SLOT_LEASE_MS = 86_400_000;
