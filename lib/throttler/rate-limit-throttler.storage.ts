import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import { RateLimitStoreError } from '../errors/rate-limit-store.error.js';
import { FAIL_CLOSED_RETRY_AFTER_MS, REPEATED_LOG_INTERVAL_MS } from '../options/defaults.js';
import { RATE_LIMIT_LOG_CONTEXT } from '../rate-limit.constants.js';
import { RateLimitEngine } from '../rate-limit.engine.js';
import { RedisRateLimitStore } from '../stores/redis.store.js';
import { ThrottledLogger } from '../throttled-logger.js';
import {
  type RateLimitThrottlerRecord,
  type ThrottlerHit,
  ThrottlerRecords,
} from './throttler-records.js';
import { defineThrottlerScript, runThrottlerScript, throttlerKey } from './throttler-script.js';

/**
 * A `ThrottlerStorage` for @nestjs/throttler 6 on this module's store: keep ThrottlerModule,
 * ThrottlerGuard, `@Throttle` and `@SkipThrottle`, and gain Redis Cluster, Redis's clock, the
 * decision deadline (`timeoutMs`), the circuit breaker and the module's failure strategy.
 * Answers as throttler's own in-memory storage does on the same calls (a sliding log of hits per
 * throttler name, and the block), but shared by every instance. Without `redis` the records live
 * in this process, bounded by `memoryStoreMaxKeys`.
 *
 * When Redis cannot answer, the module's `failureStrategy` decides: 'open' lets the call through
 * (`totalHits` 0), 'closed' blocks it for 1 s (ThrottlerGuard answers 429 with `Retry-After: 1`),
 * 'local' counts it in this process against `limit / instances` (`instances: 'auto'`: the whole
 * limit).
 *
 * Provided and exported by RateLimitModule. @nestjs/throttler is never imported: the class
 * matches its `ThrottlerStorage` interface by shape.
 *
 * @example
 * ```ts
 * imports: [
 *   RateLimitModule.forRoot({ redis: process.env.REDIS_URL, global: false }),
 *   ThrottlerModule.forRootAsync({
 *     inject: [RateLimitThrottlerStorage],
 *     useFactory: (storage: RateLimitThrottlerStorage) => ({
 *       throttlers: [{ ttl: 60_000, limit: 10 }],
 *       storage,
 *     }),
 *   }),
 * ],
 * providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
 * ```
 * @publicApi
 */
@Injectable()
export class RateLimitThrottlerStorage implements OnModuleDestroy {
  private readonly logger = new Logger(RATE_LIMIT_LOG_CONTEXT);
  private readonly log = new ThrottledLogger(this.logger, REPEATED_LOG_INTERVAL_MS);
  /** The records when the module has no Redis; else, from the first failure, those of 'local'. */
  private local: ThrottlerRecords | undefined;
  private scriptDefined = false;
  /** `<name>:<limit>` of the throttlers whose large limit was warned about. */
  private readonly warnedLimits = new Set<string>();

  constructor(private readonly engine: RateLimitEngine) {}

  /** `ThrottlerStorage.increment`: `ttl` and `blockDuration` in milliseconds, as throttler 6 passes them. */
  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<RateLimitThrottlerRecord> {
    const hit = checkHit(key, ttl, limit, blockDuration, throttlerName);
    if (hit.limit > LARGE_LIMIT) this.warnOfLargeLimit(hit);
    const { store, breaker, options } = this.engine;
    if (!(store instanceof RedisRateLimitStore)) {
      this.local ??= new ThrottlerRecords(options.memoryStoreMaxKeys);
      return this.local.increment(hit);
    }
    const { client } = store;
    if (!this.scriptDefined) {
      defineThrottlerScript(client);
      this.scriptDefined = true;
    }
    const recordKey = throttlerKey(options.keyPrefix, hit.key);
    const send = (): Promise<RateLimitThrottlerRecord> =>
      store.bounded(() => runThrottlerScript(client, recordKey, hit));
    try {
      return await (breaker === undefined ? send() : breaker.guard(send));
    } catch (error) {
      return this.fail(hit, error);
    }
  }

  onModuleDestroy(): void {
    this.local?.clear();
  }

  /**
   * Throttler's semantics keep every hit for its ttl, so a key near a large limit holds a long log
   * that each call reads and rewrites: a cost that grows with the limit, paid inside Redis. Said
   * once per throttler and limit, since the app's configuration is the cause.
   */
  private warnOfLargeLimit(hit: ThrottlerHit): void {
    const seen = `${hit.throttlerName}:${hit.limit}`;
    if (this.warnedLimits.has(seen)) return;
    this.warnedLimits.add(seen);
    this.logger.warn(
      `RateLimitThrottlerStorage: throttler '${hit.throttlerName}' has limit ${hit.limit}. Like ` +
        "@nestjs/throttler's own storage it keeps each hit for its ttl, so a key near that limit " +
        `holds a log of up to ${Math.round((8 * (hit.limit + 1)) / 1024)} KiB that every call ` +
        `rewrites in Redis. Above ${LARGE_LIMIT} hits per ttl, prefer @RateLimit with algorithm ` +
        "'fixed-window' or 'sliding-window', whose size does not grow with the limit",
    );
  }

  /** The module's failure strategy, in throttler's terms. */
  private fail(hit: ThrottlerHit, error: unknown): RateLimitThrottlerRecord {
    const { failureStrategy, keyPrefix, instances, memoryStoreMaxKeys } = this.engine.options;
    const message = error instanceof RateLimitStoreError ? error.message : String(error);
    this.log.warn(
      () =>
        `${this.engine.store.description} store failed for the throttler storage under key prefix ` +
        `'${keyPrefix}': ${message}; failing ${failureStrategy}`,
    );
    const timeToExpire = Math.ceil(hit.ttlMs / 1000);
    switch (failureStrategy) {
      case 'open':
        return { totalHits: 0, timeToExpire, isBlocked: false, timeToBlockExpire: 0 };
      case 'closed':
        return {
          totalHits: hit.limit + 1,
          timeToExpire,
          isBlocked: true,
          timeToBlockExpire: Math.ceil(FAIL_CLOSED_RETRY_AFTER_MS / 1000),
        };
      case 'local': {
        this.local ??= new ThrottlerRecords(memoryStoreMaxKeys);
        // The live count of instances: 'auto' is the pipeline's, which this storage cannot see.
        const sharing = typeof instances === 'number' ? instances : 1;
        const share = Math.max(Math.min(hit.limit, 1), Math.floor(hit.limit / sharing));
        return this.local.increment({ ...hit, limit: share });
      }
    }
  }
}

/**
 * A limit above this many hits per ttl is warned about: each call then reads and rewrites a log
 * of up to 80 KiB (measured: 3,500 calls/s on one key over its first 10,000 hits at a limit of
 * 1,000,000, 247/s by the 80,000th).
 */
const LARGE_LIMIT = 10_000;

/** Throttler checks that each value is a number; Redis also needs it finite. */
function checkHit(
  key: unknown,
  ttl: unknown,
  limit: unknown,
  blockDuration: unknown,
  throttlerName: unknown,
): ThrottlerHit {
  const problems: string[] = [];
  if (typeof key !== 'string') problems.push(`key must be a string (got ${typeof key})`);
  if (typeof throttlerName !== 'string') {
    problems.push(`throttlerName must be a string (got ${typeof throttlerName})`);
  }
  for (const [name, value] of Object.entries({ ttl, limit, blockDuration })) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      problems.push(`${name} must be a finite number (got ${String(value)})`);
    }
  }
  if (problems.length > 0) {
    throw new RateLimitConfigError('RateLimitThrottlerStorage.increment', problems);
  }
  return {
    key: key as string,
    ttlMs: ttl as number,
    limit: limit as number,
    blockDurationMs: blockDuration as number,
    throttlerName: throttlerName as string,
  };
}
