import { randomBytes } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import type { RateLimitDecision } from '../decision/rate-limit-decision.interface.js';
import { RateLimitStoreError } from '../errors/rate-limit-store.error.js';
import { FAIL_CLOSED_RETRY_AFTER_MS, REPEATED_LOG_INTERVAL_MS } from '../options/defaults.js';
import type { FailureStrategy } from '../options/limit-options.interface.js';
import type { BreakerLayer } from '../pipeline/breaker.layer.js';
import type { DecisionSource } from '../pipeline/decision-layer.interface.js';
import type { RateLimitStore } from '../stores/rate-limit-store.interface.js';
import { RedisRateLimitStore } from '../stores/redis.store.js';
import { ThrottledLogger } from '../throttled-logger.js';
import { MemorySlots } from './memory-slots.js';
import { RedisSlots } from './redis-slots.js';
import type { ResolvedConcurrencyLimit } from './resolve-concurrency-limit.js';
import type { SlotStore } from './slot-store.js';

/**
 * The decision on a concurrency limit: a RateLimitDecision with one limit, whose `limit` is
 * `max` and `remaining` the slots left, and the release of the slot it took.
 *
 * @publicApi
 */
export interface ConcurrencyDecision extends RateLimitDecision {
  /**
   * Frees the slot. Call it once the work is done, in a `finally`; later calls do nothing, and
   * so does a denial's. Never rejects: a release Redis cannot take is logged, and the slot then
   * frees when its lease ends.
   */
  readonly release: () => Promise<void>;
}

/** One acquisition: the slots key of an identity under a limit, and the settings in force. */
export interface SlotRequest {
  readonly key: string;
  readonly limit: ResolvedConcurrencyLimit;
  readonly failureStrategy: FailureStrategy;
  readonly shadow: boolean;
}

/** A slot this instance holds, renewed until released. */
interface HeldSlot {
  readonly store: SlotStore;
  readonly key: string;
  readonly slot: string;
  readonly timer: NodeJS.Timeout;
}

const NOTHING_HELD = (): Promise<void> => Promise.resolve();

/**
 * Acquires, renews and releases slots in flight: in Redis when the module has it (one script
 * call each, bounded by `timeoutMs`, behind the circuit breaker), else in this process. A slot
 * is renewed every third of its lease while held, so only an instance that stops (crash, freeze)
 * loses its slots, within one lease. When Redis cannot answer an acquisition, the limit's
 * failure strategy decides, as for rate limits: 'open' admits without a slot, 'closed' refuses,
 * 'local' counts slots in this process against `max / instances`.
 */
export class InFlightSlots {
  private readonly shared: SlotStore;
  private readonly sharedSource: DecisionSource;
  /** The slots of 'local', created on the first failure that needs them. */
  private local: MemorySlots | undefined;
  private readonly held = new Set<HeldSlot>();
  /** Slot ids: this instance's random tag and a counter, unique in the fleet. */
  private readonly tag = randomBytes(9).toString('base64url');
  private sequence = 0;
  private readonly log: ThrottledLogger;

  constructor(
    store: RateLimitStore,
    breaker: BreakerLayer | undefined,
    private readonly instances: () => number,
    logger: Pick<Logger, 'warn' | 'error'>,
  ) {
    const redis = store instanceof RedisRateLimitStore;
    this.shared = redis ? new RedisSlots(store, breaker) : new MemorySlots();
    this.sharedSource = redis ? 'redis' : 'memory';
    this.log = new ThrottledLogger(logger, REPEATED_LOG_INTERVAL_MS);
  }

  /** Slots this instance holds now. */
  get holding(): number {
    return this.held.size;
  }

  /** Takes a slot when fewer than `max` are in flight; never rejects. */
  async acquire(request: SlotRequest): Promise<ConcurrencyDecision> {
    const { key, limit } = request;
    const slot = `${this.tag}:${(this.sequence += 1).toString(36)}`;
    try {
      const answer = await this.shared.acquire(key, slot, limit.max, limit.leaseMs);
      return this.decided(request, this.shared, slot, answer.acquired, answer.held, limit.max, {
        source: this.sharedSource,
      });
    } catch (error) {
      return this.fail(request, slot, error);
    }
  }

  /** Releases every slot this instance holds (the module is closing). */
  async close(): Promise<void> {
    const held = [...this.held];
    await Promise.all(held.map((slot) => this.release(slot)));
  }

  private async fail(
    request: SlotRequest,
    slot: string,
    error: unknown,
  ): Promise<ConcurrencyDecision> {
    const { key, limit, failureStrategy } = request;
    const storeError =
      error instanceof RateLimitStoreError
        ? error
        : new RateLimitStoreError('error', `Concurrency limit store failed: ${String(error)}`, {
            cause: error,
          });
    // A call that timed out may still have run: its slot would be held by nobody until its lease
    // ends. The release goes after it on the same connection, so it frees that slot if any.
    if (storeError.failure === 'timeout') this.shared.release(key, slot).catch(() => undefined);
    this.log.warn(
      () =>
        `Concurrency limit '${limit.name}' could not be judged: ${storeError.message}; failing ${failureStrategy}`,
    );
    const failure = { storeError, failureStrategy };
    switch (failureStrategy) {
      case 'open':
        return decision(limit, true, 0, 0, NOTHING_HELD, { source: 'fail-open', ...failure });
      case 'closed':
        return decision(limit, false, 0, FAIL_CLOSED_RETRY_AFTER_MS, NOTHING_HELD, {
          source: 'fail-closed',
          ...failure,
        });
      case 'local': {
        this.local ??= new MemorySlots();
        const share = Math.max(1, Math.floor(limit.max / Math.max(1, this.instances())));
        const answer = await this.local.acquire(key, slot, share, limit.leaseMs);
        return this.decided(request, this.local, slot, answer.acquired, answer.held, share, {
          source: 'local',
          ...failure,
        });
      }
    }
  }

  private decided(
    request: SlotRequest,
    store: SlotStore,
    slot: string,
    acquired: boolean,
    heldNow: number,
    max: number,
    about: DecisionAbout,
  ): ConcurrencyDecision {
    const { key, limit } = request;
    const limitOf = { name: limit.name, max };
    if (!acquired) {
      if (request.shadow) return decision(limitOf, true, 0, 0, NOTHING_HELD, about, true);
      return decision(limitOf, false, 0, limit.retryAfterMs, NOTHING_HELD, about);
    }
    const held: HeldSlot = {
      store,
      key,
      slot,
      timer: setInterval(() => this.renew(held, limit), Math.floor(limit.leaseMs / 3)).unref(),
    };
    this.held.add(held);
    const release = (): Promise<void> => this.release(held);
    return decision(limitOf, true, max - heldNow, 0, release, about);
  }

  private renew(held: HeldSlot, limit: ResolvedConcurrencyLimit): void {
    held.store.renew(held.key, held.slot, limit.leaseMs).then(
      (kept) => {
        if (kept || !this.held.has(held)) return;
        clearInterval(held.timer);
        this.log.warn(
          () =>
            `A slot of concurrency limit '${limit.name}' outlived its lease (${limit.leaseMs} ms) ` +
            'before its renewal reached the store: another request may have taken it',
        );
      },
      (error: unknown) =>
        this.log.warn(
          () =>
            `Could not renew a slot of concurrency limit '${limit.name}': ${String(error)}; ` +
            'retrying within a third of its lease',
        ),
    );
  }

  private async release(held: HeldSlot): Promise<void> {
    if (!this.held.delete(held)) return;
    clearInterval(held.timer);
    try {
      await held.store.release(held.key, held.slot);
    } catch (error) {
      this.log.warn(
        () => `Could not release a slot in flight: ${String(error)}; it frees when its lease ends`,
      );
    }
  }
}

type DecisionAbout = Pick<RateLimitDecision, 'source' | 'storeError' | 'failureStrategy'>;

function decision(
  limit: Pick<ResolvedConcurrencyLimit, 'name' | 'max'>,
  allowed: boolean,
  remaining: number,
  retryAfterMs: number,
  release: () => Promise<void>,
  about: DecisionAbout,
  shadow = false,
): ConcurrencyDecision {
  return {
    allowed,
    limit: limit.max,
    remaining,
    resetMs: retryAfterMs,
    retryAfterMs,
    limits: [
      {
        name: limit.name,
        allowed: allowed && !shadow,
        limit: limit.max,
        remaining,
        resetMs: retryAfterMs,
        retryAfterMs,
        ...(shadow ? { shadow: true as const } : {}),
      },
    ],
    ...about,
    ...(shadow ? { shadow: true as const } : {}),
    release,
  };
}
