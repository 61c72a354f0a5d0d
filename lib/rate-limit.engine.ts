import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { buildDecision, failureDecision } from './decision/build-decision.js';
import type { RateLimitDecision } from './decision/rate-limit-decision.interface.js';
import { RateLimitStoreError } from './errors/rate-limit-store.error.js';
import type { FailureStrategy } from './options/limit-options.interface.js';
import type { BucketRule, LeaseSettings } from './options/resolved-limit.interface.js';
import type { ResolvedModuleOptions } from './options/resolved-module-options.interface.js';
import { RATE_LIMIT_LOG_CONTEXT, RESOLVED_RATE_LIMIT_OPTIONS } from './rate-limit.constants.js';
import { DenyCache } from './cache/deny-cache.js';
import { Leasing, type LeasingStore } from './lease/leasing.js';
import { systemClock } from './stores/clock.js';
import { LocalFallback } from './stores/local-fallback.js';
import { RateLimitStore } from './stores/rate-limit-store.interface.js';
import { ThrottledLogger } from './throttled-logger.js';

/** The question a decision answers: which buckets, under which rules, at what cost. */
export interface BucketQuery {
  readonly keys: readonly string[];
  readonly names: readonly string[];
  readonly rules: readonly BucketRule[];
  readonly costs: readonly number[];
  readonly consume: boolean;
  readonly failureStrategy: FailureStrategy;
  /** Set when every limit leases (and the store can): per bucket, its lease. */
  readonly leases?: readonly LeaseSettings[] | undefined;
}

/**
 * Asks the store and turns its reply, or its failure, into a decision. Never rejects: a store
 * failure becomes the failure strategy's decision, logged at most once per second.
 */
@Injectable()
export class RateLimitEngine implements OnModuleDestroy {
  private readonly failureLog = new ThrottledLogger(new Logger(RATE_LIMIT_LOG_CONTEXT), 1000);
  private readonly local: LocalFallback;
  private readonly denyCache: DenyCache | undefined;
  private readonly leasing: Leasing | undefined;

  constructor(
    @Inject(RESOLVED_RATE_LIMIT_OPTIONS) readonly options: ResolvedModuleOptions,
    @Inject(RateLimitStore) readonly store: RateLimitStore,
  ) {
    this.local = new LocalFallback(options.instances, options.memoryStoreMaxKeys);
    // The memory store is local already: a cache in front of it would only cost.
    this.denyCache =
      options.denyCache === false || options.redis === undefined
        ? undefined
        : new DenyCache(options.denyCache.maxKeys, systemClock);
    this.leasing = canLease(store)
      ? new Leasing(
          {
            lease: (keys, rules, costs, extras) => store.lease(keys, rules, costs, extras),
            refund: (keys, rules, tokens) => store.refund(keys, rules, tokens),
          },
          new Logger(RATE_LIMIT_LOG_CONTEXT),
          options.memoryStoreMaxKeys,
        )
      : undefined;
  }

  decide(query: BucketQuery): Promise<RateLimitDecision> {
    const { keys, rules, costs } = query;
    const cache = this.denyCache;
    if (cache !== undefined) {
      const known = cache.lookup(keys, rules, costs);
      if (known !== undefined) return Promise.resolve(buildDecision(query.names, rules, known));
    }
    let pending: Promise<number[]>;
    const leases = query.consume ? query.leases : undefined;
    if (leases !== undefined && this.leasing !== undefined) {
      const spent = this.leasing.spend(keys, costs);
      if (spent !== undefined) return Promise.resolve(buildDecision(query.names, rules, spent));
      pending = this.leasing.take(keys, rules, costs, leases);
    } else {
      pending = this.store.take(keys, rules, costs, query.consume);
    }
    if (cache === undefined) {
      return pending.then(
        (reply) => buildDecision(query.names, rules, reply),
        (error: unknown) => this.fail(query, error),
      );
    }
    const sentAtUs = cache.now();
    return pending.then(
      (reply) => {
        const decision = buildDecision(query.names, rules, reply);
        if (decision.allowed) cache.forget(keys);
        else cache.recordDenial(keys, rules, costs, reply, sentAtUs);
        return decision;
      },
      (error: unknown) => this.fail(query, error),
    );
  }

  /** Deletes buckets (full again), here and in this instance's deny cache. */
  reset(keys: readonly string[]): Promise<void> {
    this.denyCache?.forget(keys);
    this.leasing?.book.forget(keys);
    return this.store.reset(keys);
  }

  /** Deletes every bucket of an identity under a prefix, here and in the deny cache. */
  resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    this.denyCache?.forgetIdentity(keyPrefix, identity);
    this.leasing?.book.forgetIdentity(keyPrefix, identity);
    return this.store.resetIdentity(keyPrefix, identity);
  }

  /** Gives leased tokens back before the store's client closes (Nest destroys dependants first). */
  async onModuleDestroy(): Promise<void> {
    this.local.close();
    await this.leasing?.close();
  }

  private fail(query: BucketQuery, error: unknown): RateLimitDecision {
    const storeError =
      error instanceof RateLimitStoreError
        ? error
        : new RateLimitStoreError('error', `Rate limit store failed: ${String(error)}`, {
            cause: error,
          });
    this.failureLog.warn(
      () =>
        `${this.store.description} store failed for key prefix '${this.options.keyPrefix}': ` +
        `${storeError.message}; failing ${query.failureStrategy}`,
    );
    if (query.failureStrategy !== 'local') {
      return failureDecision(query.names, query.rules, query.failureStrategy, storeError);
    }
    const reply = this.local.take(query.keys, query.rules, query.costs, query.consume);
    const decision = buildDecision(query.names, this.local.share(query.rules), reply);
    return { ...decision, storeError, failureStrategy: 'local' };
  }
}

function canLease(store: RateLimitStore): store is RateLimitStore & LeasingStore {
  return typeof store.lease === 'function' && typeof store.refund === 'function';
}
