import { Logger } from '@nestjs/common';
import type { BucketRequest } from '../algorithms/algorithm.interface.js';
import { type Clock, systemClock } from '../clock.js';
import { RateLimitStoreError } from '../errors/rate-limit-store.error.js';
import { RATE_LIMIT_LOG_CONTEXT } from '../rate-limit.constants.js';
import type { RateLimitStore } from '../stores/rate-limit-store.interface.js';
import {
  CircuitBreaker,
  type CircuitBreakerSettings,
  type CircuitState,
} from './circuit-breaker.js';
import type { DecisionLayer, Take, TakeQuery } from './decision-layer.interface.js';

/**
 * A circuit breaker in front of the store, so that while Redis is known to be down a decision
 * costs no timeout: after `failureThreshold` consecutive timeouts or unavailable replies, calls
 * are rejected at once with RateLimitStoreError('unavailable') for `cooldownMs`, then one probe
 * goes through (at once when the store reconnects). Only availability failures count; other
 * errors (OOM, WRONGTYPE) are neutral, and close the circuit only as a probe's answer. Each call
 * of this layer is one outcome, however many round trips the store made for it.
 */
export class BreakerLayer implements DecisionLayer {
  readonly breaker: CircuitBreaker;
  private openedAtUs = 0;
  private readonly unsubscribe: () => void;
  private readonly listeners = new Set<(from: CircuitState, to: CircuitState) => void>();

  constructor(
    private readonly inner: RateLimitStore,
    private readonly settings: CircuitBreakerSettings,
    private readonly clock: Clock = systemClock,
    private readonly logger: Pick<Logger, 'warn' | 'log'> = new Logger(RATE_LIMIT_LOG_CONTEXT),
  ) {
    this.breaker = new CircuitBreaker(settings, clock, (from, to) => {
      this.logChange(from, to);
      for (const listener of this.listeners) listener(from, to);
    });
    this.unsubscribe = inner.onReconnect?.(() => this.breaker.endCooldown()) ?? (() => {});
  }

  get description(): string {
    return this.inner.description;
  }

  take(query: TakeQuery): Promise<Take> {
    return this.guard(() => this.inner.take(query));
  }

  refund(requests: readonly BucketRequest[]): Promise<void> {
    return this.guard(() => this.inner.refund(requests));
  }

  reset(keys: readonly string[]): Promise<void> {
    return this.guard(() => this.inner.reset(keys));
  }

  resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    return this.guard(() => this.inner.resetIdentity(keyPrefix, identity));
  }

  /** Calls `listener` on every change of the circuit's state; returns the unsubscribe. */
  onStateChange(listener: (from: CircuitState, to: CircuitState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.unsubscribe();
    this.listeners.clear();
    return this.inner.close();
  }

  /**
   * Runs one call to the store under the breaker: refused at once while the circuit is open, its
   * outcome counted. The layer's own methods use it, and so do the module's calls that are not
   * bucket takes (RateLimitThrottlerStorage).
   */
  guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.breaker.admit() === 'reject') {
      return Promise.reject(
        new RateLimitStoreError(
          'unavailable',
          `Circuit breaker open: ${this.description} store not called for another ${this.breaker.remainingCooldownMs()} ms`,
        ),
      );
    }
    return call().then(this.succeeded, this.failed);
  }

  private readonly succeeded = <T>(result: T): T => {
    this.breaker.recordSuccess();
    return result;
  };

  private readonly failed = (error: unknown): never => {
    const availability =
      error instanceof RateLimitStoreError &&
      (error.failure === 'timeout' || error.failure === 'unavailable');
    if (availability) this.breaker.recordFailure();
    else this.breaker.recordError();
    throw error;
  };

  /** Opening and closing are logged once each; the probes in between are not. */
  private logChange(from: CircuitState, to: CircuitState): void {
    const store = this.description;
    if (to === 'open' && from === 'closed') {
      this.openedAtUs = this.clock.nowUs();
      this.logger.warn(
        `Circuit breaker opened: ${this.settings.failureThreshold} consecutive ${store} store failures; ` +
          `decisions follow the failure strategy without calling ${store}, probing every ${this.settings.cooldownMs} ms`,
      );
    } else if (to === 'closed') {
      const outageMs = Math.round((this.clock.nowUs() - this.openedAtUs) / 1000);
      this.logger.log(`Circuit breaker closed: ${store} store answered again after ${outageMs} ms`);
    }
  }
}
