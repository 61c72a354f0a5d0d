import type { ExecutionContext } from '@nestjs/common';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { RateLimitDecision } from '../decision/rate-limit-decision.interface.js';
import type { RedisClusterConfig } from '../stores/redis-client.js';
import type { FailureStrategy, KeyBy, LimitOptions } from './limit-options.interface.js';

/**
 * Options of `RateLimitModule.forRoot()`.
 *
 * @publicApi
 */
export interface RateLimitModuleOptions {
  /**
   * A Redis URL, ioredis options, Redis Cluster nodes (`{ cluster: [{ host, port }] }`), or a
   * client you own (`Redis` or `Cluster`; the module never quits it).
   * @default an in-process memory store, which limits this process only
   */
  redis?: string | RedisOptions | RedisClusterConfig | Redis | Cluster | undefined;
  /** Prefix of every Redis key. @default 'rl:' */
  keyPrefix?: string | undefined;
  /** What a request gets when the store fails or times out. @default 'open' */
  failureStrategy?: FailureStrategy | undefined;
  /**
   * How many app instances share the limits, roughly. Only `failureStrategy: 'local'` uses it:
   * while Redis is unavailable each instance enforces capacity and refill divided by it.
   * `'auto'`: instances announce themselves in Redis every second while it is up, and during an
   * outage each divides by the number of live instances it last saw (1 if it never saw Redis).
   * @default 1
   */
  instances?: number | 'auto' | undefined;
  /**
   * How long the app's start waits for a Redis that is connecting (0: not at all). Past it, the
   * app starts anyway and decisions follow the failure strategy until Redis answers.
   * @default 2000
   */
  readyWaitMs?: number | undefined;
  /** Longest a decision waits on the store before the failure strategy applies. @default 100 */
  timeoutMs?: number | undefined;
  /** Identity for limits that name none. @default 'ip' */
  keyBy?: KeyBy | undefined;
  /** Limits for handlers without `@RateLimit`. @default none */
  defaultLimit?: LimitOptions | LimitOptions[] | undefined;
  /** Register `RateLimitGuard` as a global guard (`APP_GUARD`). @default true */
  global?: boolean;
  /**
   * Rate-limit headers of every limited response: `'draft-10'` (or `true`) sends the IETF draft's
   * `RateLimit-Policy` and `RateLimit`; `'legacy'` sends `X-RateLimit-Limit`,
   * `X-RateLimit-Remaining` and `X-RateLimit-Reset` (UTC epoch seconds) of the most restrictive
   * limit; `'both'` sends all five; `false` none. `@RateLimitHeaders()` overrides it per route.
   * A denial's `Retry-After` is sent whatever this says.
   * @default true ('draft-10')
   */
  headers?: RateLimitHeadersMode | undefined;
  /**
   * Builds the error a denied call is refused with, instead of the transport's own (HTTP:
   * TooManyRequestsException): your 429 body or error type. Headers and `Retry-After` are set
   * before it is called. Called on every transport the guard serves (check
   * `context.getType()`); `undefined` keeps the transport's own error. One that throws or
   * returns something else is logged and the transport's own error is used.
   * @default the transport's error
   */
  exceptionFactory?:
    ((decision: RateLimitDecision, context: ExecutionContext) => Error | undefined) | undefined;
  /** IPv6 clients are grouped by this prefix length, since one client owns a whole /64. @default 64 */
  ipv6Subnet?: number | undefined;
  /**
   * Most buckets the memory store keeps (the least recently used beyond it are evicted); also
   * bounds the buckets of `failureStrategy: 'local'` and the keys token leasing tracks.
   * @default 100000
   */
  memoryStoreMaxKeys?: number | undefined;
  /**
   * Stop calling Redis for `cooldownMs` after `failureThreshold` consecutive timeouts or
   * connection failures, so no request pays the timeout while Redis is known down (the failure
   * strategy decides at once); then one probe request tries Redis again. `false` turns it off.
   * @default { failureThreshold: 5, cooldownMs: 1000 }
   */
  circuitBreaker?: { failureThreshold?: number; cooldownMs?: number } | false | undefined;
  /**
   * Remember denied buckets in this instance and answer requests that are sure to be denied
   * without a Redis round trip; never changes a decision. `reset()` clears it on the instance
   * that calls it; other instances keep a cached denial until it would have expired anyway.
   * Bounded: the least recently denied keys beyond `maxKeys` are forgotten. Redis stores only.
   * @default { maxKeys: 10000 }
   */
  denyCache?: { maxKeys?: number } | false | undefined;
  /**
   * OpenTelemetry metrics (meter `nest-redis-rate-limit`): `ratelimit.decisions`,
   * `ratelimit.denials`, `ratelimit.store.duration` and `ratelimit.breaker.state`. They need the
   * optional peer `@opentelemetry/api` and a MeterProvider registered before the app starts
   * (or `meterProvider`); without either they cost nothing. `false`: no instrument is created.
   * @default true
   */
  metrics?: boolean | undefined;
  /**
   * The MeterProvider of the metrics, e.g. an `@opentelemetry/sdk-metrics` MeterProvider.
   * @default the global one of `@opentelemetry/api` (`metrics.getMeterProvider()`), read once at startup
   */
  meterProvider?: RateLimitMeterProvider | undefined;
  /**
   * Shadow mode for every limit (a limit's own `shadow` overrides it): limits are judged,
   * charged and reported (headers, metrics, events) as usual, but never deny a request.
   * @default false
   */
  shadow?: boolean | undefined;
  /**
   * Identities, IP addresses and CIDR ranges (IPv4 and IPv6) that skip every limit, decided in
   * this process without Redis: `'10.0.0.0/8'`, `'2001:db8::/32'`, `'user:42'`, `'key:<sha256>'`
   * or `'apiKey:<key>'` (hashed at start, as the 'apiKey' identity is). A request is listed when
   * its client address or the identity of one of its limits is. The guard only, on routes that
   * have limits; `denyList` wins over it. A bad entry stops the app at start.
   * @default none
   */
  allowList?: readonly string[] | undefined;
  /**
   * Entries as in `allowList` that are refused on every limited route, decided in this process
   * without Redis: 403 Forbidden on HTTP, a `FORBIDDEN` GraphQL error, a WsException or an
   * RpcException of `{ statusCode: 403, message: 'Forbidden' }`.
   * @default none
   */
  denyList?: readonly string[] | undefined;
  /**
   * When decisions on Redis read block keys (RateLimitService.block). `'auto'`: only while a
   * block exists somewhere in the fleet, which each instance learns by reading one key every
   * second, so a decision costs nothing more while no block exists and the first block takes up
   * to a second to reach other instances. `'always'`: on every decision, so every block reaches
   * every instance at once, at the price of one more key per bucket in each script call.
   * @default 'auto'
   */
  blocks?: 'auto' | 'always' | undefined;
}

/**
 * The part of an OpenTelemetry `MeterProvider` the module uses, so that these types do not need
 * `@opentelemetry/api` installed.
 *
 * @publicApi
 */
export interface RateLimitMeterProvider {
  getMeter(name: string, version?: string): object;
}

/**
 * Which rate-limit headers a response carries: `true` or `'draft-10'`, `'legacy'`, `'both'`, or
 * `false` for none.
 *
 * @publicApi
 */
export type RateLimitHeadersMode = boolean | 'draft-10' | 'legacy' | 'both';

/** What an async factory may return: options that shape the module itself stay out. */
export type RateLimitModuleFactoryOptions = Omit<RateLimitModuleOptions, 'global'>;
