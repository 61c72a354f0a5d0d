import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import type { HeadersMode } from '../http/rate-limit-headers.js';
import { toIdentityResolver } from '../keys/identity-resolver.js';
import { AccessList } from '../lists/access-list.js';
import type { CircuitBreakerSettings } from '../pipeline/circuit-breaker.js';
import { isClient, type RedisClusterConfig, type RedisConnection } from '../stores/redis-client.js';
import { DEFAULT_MODULE_OPTIONS, KEY_PREFIX_PATTERN } from './defaults.js';
import { FAILURE_STRATEGIES } from './failure-strategy.js';
import type { LimitOptions } from './limit-options.interface.js';
import { OptionReader } from './option-reader.js';
import type {
  RateLimitMeterProvider,
  RateLimitModuleOptions,
} from './rate-limit-module-options.interface.js';
import { resolveLimits } from './resolve-limits.js';
import type { ResolvedLimit } from './resolved-limit.interface.js';
import type { ResolvedModuleOptions } from './resolved-module-options.interface.js';

const WHERE = 'RateLimitModule options';
const BLOCK_READS: readonly ('auto' | 'always')[] = ['auto', 'always'];

/**
 * Parses the module options (forRoot and forRootAsync alike) into their resolved form, or
 * throws a RateLimitConfigError listing every problem, so a bad configuration stops app.init().
 */
export function resolveModuleOptions(options: RateLimitModuleOptions = {}): ResolvedModuleOptions {
  const read = new OptionReader();
  const input = options as Readonly<Record<keyof RateLimitModuleOptions, unknown>>;
  const defaults = DEFAULT_MODULE_OPTIONS;

  const redis = parseRedis(input.redis, read);
  const keyPrefix = read.matching(
    'keyPrefix',
    input.keyPrefix ?? defaults.keyPrefix,
    KEY_PREFIX_PATTERN,
    'must be 0-64 characters of A-Z a-z 0-9 _ . : / @ = + -',
  );
  const failureStrategy = read.oneOf(
    'failureStrategy',
    input.failureStrategy ?? defaults.failureStrategy,
    FAILURE_STRATEGIES,
  );
  const instances =
    input.instances === 'auto'
      ? 'auto'
      : read.positiveInteger('instances', input.instances ?? defaults.instances);
  const timeoutMs = read.positiveInteger('timeoutMs', input.timeoutMs ?? defaults.timeoutMs);
  const readyWaitMs = read.integer(
    'readyWaitMs',
    input.readyWaitMs ?? defaults.readyWaitMs,
    0,
    60_000,
    'must be an integer from 0 to 60000',
  );
  const identity = toIdentityResolver(input.keyBy ?? defaults.keyBy);
  if (identity === null)
    read.fail('keyBy', "must be 'ip', 'user', 'apiKey' or a function", input.keyBy);
  const headers = parseHeadersMode('headers', input.headers ?? defaults.headers, read);
  const exceptionFactory = parseExceptionFactory(input.exceptionFactory, read);
  const ipv6Subnet = read.integer(
    'ipv6Subnet',
    input.ipv6Subnet ?? defaults.ipv6Subnet,
    1,
    128,
    'must be an integer from 1 to 128',
  );
  const memoryStoreMaxKeys = read.positiveInteger(
    'memoryStoreMaxKeys',
    input.memoryStoreMaxKeys ?? defaults.memoryStoreMaxKeys,
  );
  const circuitBreaker = parseCircuitBreaker(input.circuitBreaker, read);
  const denyCache = parseDenyCache(input.denyCache, read);
  const defaultLimits = parseDefaultLimits(input.defaultLimit, read);
  const metrics = read.boolean('metrics', input.metrics ?? defaults.metrics);
  const meterProvider = parseMeterProvider(input.meterProvider, read);
  const shadow = read.boolean('shadow', input.shadow ?? defaults.shadow);
  const allowList = AccessList.parse('allowList', input.allowList, read);
  const denyList = AccessList.parse('denyList', input.denyList, read);
  const blocks = read.oneOf('blocks', input.blocks ?? defaults.blocks, BLOCK_READS);
  if (read.problems.length > 0 || identity === null) {
    throw new RateLimitConfigError(WHERE, read.problems);
  }
  return Object.freeze({
    redis,
    keyPrefix,
    failureStrategy,
    instances,
    timeoutMs,
    readyWaitMs,
    identity,
    defaultLimits,
    headers,
    exceptionFactory,
    ipv6Subnet,
    memoryStoreMaxKeys,
    circuitBreaker,
    denyCache,
    metrics,
    meterProvider,
    shadow,
    allowList,
    denyList,
    blocks,
  });
}

function parseMeterProvider(
  value: unknown,
  read: OptionReader,
): RateLimitMeterProvider | undefined {
  if (value === undefined) return undefined;
  const provider = typeof value === 'object' && value !== null ? value : {};
  if ('getMeter' in provider && typeof provider.getMeter === 'function') {
    return provider as RateLimitMeterProvider;
  }
  read.fail('meterProvider', 'must be an OpenTelemetry MeterProvider (with getMeter())', value);
  return undefined;
}

const HEADERS_MODES: readonly unknown[] = [true, false, 'draft-10', 'legacy', 'both'];

/** `headers` of the module or of @RateLimitHeaders; true is 'draft-10'. */
export function parseHeadersMode(path: string, value: unknown, read: OptionReader): HeadersMode {
  if (!HEADERS_MODES.includes(value)) {
    read.fail(path, "must be true, false, 'draft-10', 'legacy' or 'both'", value);
    return false;
  }
  return value === true ? 'draft-10' : (value as HeadersMode);
}

function parseExceptionFactory(
  value: unknown,
  read: OptionReader,
): ResolvedModuleOptions['exceptionFactory'] {
  if (value === undefined || typeof value === 'function') {
    return value as ResolvedModuleOptions['exceptionFactory'];
  }
  read.fail('exceptionFactory', 'must be a function (decision, context) => Error', value);
  return undefined;
}

/** Tells the shapes of the `redis` option apart, once. */
function parseRedis(value: unknown, read: OptionReader): RedisConnection | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    if (/^rediss?:\/\//.test(value)) return { kind: 'url', url: value };
    read.problems.push(
      'redis must be a redis:// or rediss:// URL (got a string without that scheme)',
    );
    return undefined;
  }
  if (typeof value !== 'object' || value === null) {
    read.fail('redis', 'must be a URL, ioredis options or an ioredis client', value);
    return undefined;
  }
  // A client has a cluster() method (the CLUSTER command): test for a client first.
  if (isClient(value)) return { kind: 'client', client: value };
  const cluster = (value as { cluster?: unknown }).cluster;
  if (cluster === undefined) return { kind: 'options', options: value };
  if (!Array.isArray(cluster) || cluster.length === 0) {
    read.fail('redis.cluster', 'must be a non-empty array of nodes', cluster);
    return undefined;
  }
  return { kind: 'cluster', config: value as RedisClusterConfig };
}

function parseCircuitBreaker(value: unknown, read: OptionReader): CircuitBreakerSettings | false {
  if (value === false) return false;
  const defaults = DEFAULT_MODULE_OPTIONS.circuitBreaker;
  if (value === undefined) return defaults;
  const fields = read.object('circuitBreaker', value, 'must be an object or false');
  if (fields === undefined) return defaults;
  return Object.freeze({
    failureThreshold: read.positiveInteger(
      'circuitBreaker.failureThreshold',
      fields.failureThreshold ?? defaults.failureThreshold,
    ),
    cooldownMs: read.positiveInteger(
      'circuitBreaker.cooldownMs',
      fields.cooldownMs ?? defaults.cooldownMs,
    ),
  });
}

function parseDenyCache(value: unknown, read: OptionReader): ResolvedModuleOptions['denyCache'] {
  if (value === false) return false;
  const defaults = DEFAULT_MODULE_OPTIONS.denyCache;
  if (value === undefined) return defaults;
  const fields = read.object('denyCache', value, 'must be an object or false');
  if (fields === undefined) return defaults;
  return Object.freeze({
    maxKeys: read.positiveInteger('denyCache.maxKeys', fields.maxKeys ?? defaults.maxKeys),
  });
}

function parseDefaultLimits(
  value: unknown,
  read: OptionReader,
): readonly ResolvedLimit[] | undefined {
  if (value === undefined) return undefined;
  try {
    return resolveLimits(value as LimitOptions | LimitOptions[], `${WHERE}.defaultLimit`);
  } catch (error) {
    if (!(error instanceof RateLimitConfigError)) throw error;
    read.problems.push(...error.problems.map((problem) => `defaultLimit: ${problem}`));
    return undefined;
  }
}
