import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import { type CircuitBreakerSettings, DEFAULT_CIRCUIT_BREAKER } from '../stores/circuit-breaker.js';
import { toIdentityResolver } from '../keys/identity-resolver.js';
import { DEFAULT_MODULE_OPTIONS } from '../rate-limit.constants.js';
import type { RateLimitModuleOptions } from './rate-limit-module-options.interface.js';
import type { ResolvedLimit } from './resolved-limit.interface.js';
import type { ResolvedModuleOptions } from './resolved-module-options.interface.js';
import { describeValue } from './describe-value.js';
import { isFailureStrategy } from './failure-strategy.js';
import { resolveLimits } from './resolve-limits.js';

const WHERE = 'RateLimitModule options';
const KEY_PREFIX_PATTERN = /^[A-Za-z0-9_.:/@=+-]{0,64}$/;

/**
 * Validates the module options (forRoot and forRootAsync alike) and applies the defaults, or
 * throws a RateLimitConfigError listing every problem, so a bad configuration stops app.init().
 */
export function resolveModuleOptions(options: RateLimitModuleOptions = {}): ResolvedModuleOptions {
  const problems: string[] = [];
  const input = options as Partial<Record<keyof RateLimitModuleOptions, unknown>>;

  const redis = input.redis;
  if (
    redis !== undefined &&
    typeof redis !== 'string' &&
    (typeof redis !== 'object' || redis === null)
  ) {
    problems.push(
      `redis must be a URL, ioredis options or an ioredis client (got ${describeValue(redis)})`,
    );
  }
  // A client has a cluster() method (the CLUSTER command): only a plain `cluster` value is nodes.
  const cluster = (redis as { cluster?: unknown } | undefined)?.cluster;
  if (
    cluster !== undefined &&
    typeof cluster !== 'function' &&
    (!Array.isArray(cluster) || cluster.length === 0)
  ) {
    problems.push(
      `redis.cluster must be a non-empty array of nodes (got ${describeValue(cluster)})`,
    );
  }
  if (typeof redis === 'string' && !/^rediss?:\/\//.test(redis)) {
    problems.push(`redis must be a redis:// or rediss:// URL (got a string without that scheme)`);
  }
  const keyPrefix = input.keyPrefix ?? DEFAULT_MODULE_OPTIONS.keyPrefix;
  if (typeof keyPrefix !== 'string' || !KEY_PREFIX_PATTERN.test(keyPrefix)) {
    problems.push(
      `keyPrefix must be 0-64 characters of A-Z a-z 0-9 _ . : / @ = + - (got ${JSON.stringify(keyPrefix)})`,
    );
  }
  const failureStrategy = input.failureStrategy ?? DEFAULT_MODULE_OPTIONS.failureStrategy;
  if (!isFailureStrategy(failureStrategy)) {
    problems.push(
      `failureStrategy must be 'open', 'closed' or 'local' (got ${describeValue(failureStrategy)})`,
    );
  }
  const instances = input.instances ?? DEFAULT_MODULE_OPTIONS.instances;
  if (typeof instances !== 'number' || !Number.isInteger(instances) || instances < 1) {
    problems.push(`instances must be a positive integer (got ${describeValue(instances)})`);
  }
  const timeoutMs = input.timeoutMs ?? DEFAULT_MODULE_OPTIONS.timeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1) {
    problems.push(`timeoutMs must be a positive integer (got ${describeValue(timeoutMs)})`);
  }
  const identity = toIdentityResolver(input.keyBy ?? DEFAULT_MODULE_OPTIONS.keyBy);
  if (identity === null) {
    problems.push(
      `keyBy must be 'ip', 'user', 'apiKey' or a function (got ${describeValue(input.keyBy)})`,
    );
  }
  const headers = input.headers ?? DEFAULT_MODULE_OPTIONS.headers;
  if (typeof headers !== 'boolean') problems.push(`headers must be a boolean`);
  const ipv6Subnet = input.ipv6Subnet ?? DEFAULT_MODULE_OPTIONS.ipv6Subnet;
  if (
    typeof ipv6Subnet !== 'number' ||
    !Number.isInteger(ipv6Subnet) ||
    ipv6Subnet < 1 ||
    ipv6Subnet > 128
  ) {
    problems.push(`ipv6Subnet must be an integer from 1 to 128 (got ${describeValue(ipv6Subnet)})`);
  }
  const memoryStoreMaxKeys = input.memoryStoreMaxKeys ?? DEFAULT_MODULE_OPTIONS.memoryStoreMaxKeys;
  if (
    typeof memoryStoreMaxKeys !== 'number' ||
    !Number.isInteger(memoryStoreMaxKeys) ||
    memoryStoreMaxKeys < 1
  ) {
    problems.push(
      `memoryStoreMaxKeys must be a positive integer (got ${describeValue(memoryStoreMaxKeys)})`,
    );
  }
  const circuitBreaker = resolveCircuitBreaker(input.circuitBreaker, problems);
  const denyCache = resolveDenyCache(input.denyCache, problems);
  let defaultLimits: readonly ResolvedLimit[] | undefined;
  if (input.defaultLimit !== undefined) {
    try {
      defaultLimits = resolveLimits(
        input.defaultLimit as NonNullable<RateLimitModuleOptions['defaultLimit']>,
        `${WHERE}.defaultLimit`,
      );
    } catch (error) {
      if (!(error instanceof RateLimitConfigError)) throw error;
      problems.push(...error.problems.map((problem) => `defaultLimit: ${problem}`));
    }
  }
  if (problems.length > 0) throw new RateLimitConfigError(WHERE, problems);

  return Object.freeze({
    redis: redis as RateLimitModuleOptions['redis'],
    keyPrefix: keyPrefix as string,
    failureStrategy: failureStrategy as ResolvedModuleOptions['failureStrategy'],
    instances: instances as number,
    timeoutMs: timeoutMs as number,
    identity: identity!,
    defaultLimits,
    headers: headers as boolean,
    ipv6Subnet: ipv6Subnet as number,
    memoryStoreMaxKeys: memoryStoreMaxKeys as number,
    circuitBreaker,
    denyCache,
  });
}

function resolveDenyCache(value: unknown, problems: string[]): ResolvedModuleOptions['denyCache'] {
  const fallback = { maxKeys: DEFAULT_MODULE_OPTIONS.denyCacheMaxKeys };
  if (value === false) return false;
  if (value === undefined) return fallback;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`denyCache must be an object or false (got ${describeValue(value)})`);
    return fallback;
  }
  const maxKeys = (value as { maxKeys?: unknown }).maxKeys ?? fallback.maxKeys;
  if (typeof maxKeys !== 'number' || !Number.isInteger(maxKeys) || maxKeys < 1) {
    problems.push(`denyCache.maxKeys must be a positive integer (got ${describeValue(maxKeys)})`);
  }
  return Object.freeze({ maxKeys: maxKeys as number });
}

function resolveCircuitBreaker(value: unknown, problems: string[]): CircuitBreakerSettings | false {
  if (value === false) return false;
  if (value === undefined) return DEFAULT_CIRCUIT_BREAKER;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`circuitBreaker must be an object or false (got ${describeValue(value)})`);
    return DEFAULT_CIRCUIT_BREAKER;
  }
  const input = value as Partial<Record<keyof CircuitBreakerSettings, unknown>>;
  const failureThreshold = input.failureThreshold ?? DEFAULT_CIRCUIT_BREAKER.failureThreshold;
  if (
    typeof failureThreshold !== 'number' ||
    !Number.isInteger(failureThreshold) ||
    failureThreshold < 1
  ) {
    problems.push(
      `circuitBreaker.failureThreshold must be a positive integer (got ${describeValue(failureThreshold)})`,
    );
  }
  const cooldownMs = input.cooldownMs ?? DEFAULT_CIRCUIT_BREAKER.cooldownMs;
  if (typeof cooldownMs !== 'number' || !Number.isInteger(cooldownMs) || cooldownMs < 1) {
    problems.push(
      `circuitBreaker.cooldownMs must be a positive integer (got ${describeValue(cooldownMs)})`,
    );
  }
  return Object.freeze({
    failureThreshold: failureThreshold as number,
    cooldownMs: cooldownMs as number,
  });
}
