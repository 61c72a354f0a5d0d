import type { RateLimitDecision } from '../decision/rate-limit-decision.interface.js';
import type { CircuitState } from '../pipeline/circuit-breaker.js';
import type { DecisionSource } from '../pipeline/decision-layer.interface.js';

/**
 * What every decision event says. Identities appear only as bucket keys hold them: `ip:1.2.3.4`,
 * `user:42`, `key:<sha256>` (an API key is never kept in clear), `#<sha256>` (any other unsafe
 * identity).
 *
 * @publicApi
 */
interface RateLimitDecisionEventBase {
  /** The limits' scope when they share one, else the route's `Controller.handler` (`'service'` for RateLimitService). */
  readonly scope: string;
  /** `Controller.handler` of the route; absent for RateLimitService calls. */
  readonly route?: string;
  /** The caller, of the first limit in `limits`. */
  readonly identity: string;
  /** Names of the limits the event is about (see each event type). */
  readonly limits: readonly string[];
  /** The limits' verdict: a shadow denial is `'denied'` although the request passed. */
  readonly outcome: 'allowed' | 'denied';
  /** Which layer answered (`decision.source`). */
  readonly source: DecisionSource;
  /** The decision is a shadow denial: only limits in shadow mode denied, and the request passed. */
  readonly shadow: boolean;
  readonly decision: RateLimitDecision;
}

/**
 * A request denied by its limits (429), judged by the store, the deny cache or leased tokens.
 * `limits`: those that denied. A denial by the failure strategy is a `'failure'` event.
 *
 * @publicApi
 */
export interface RateLimitDenialEvent extends RateLimitDecisionEventBase {
  readonly type: 'denial';
  readonly outcome: 'denied';
  readonly shadow: false;
}

/**
 * A request that only limits in shadow mode would have denied: it passed. `limits`: those.
 *
 * @publicApi
 */
export interface RateLimitShadowDenialEvent extends RateLimitDecisionEventBase {
  readonly type: 'shadow-denial';
  readonly outcome: 'denied';
  readonly shadow: true;
}

/**
 * A decision of the failure strategy, the store having failed, timed out or its circuit being
 * open: `source` is `'fail-open'`, `'fail-closed'` or `'local'`, `decision.storeError` says why.
 * `limits`: every limit of the request.
 *
 * @publicApi
 */
export interface RateLimitFailureEvent extends RateLimitDecisionEventBase {
  readonly type: 'failure';
}

/**
 * The store's circuit breaker changed state (see the `circuitBreaker` option).
 *
 * @publicApi
 */
export interface RateLimitBreakerEvent {
  readonly type: 'breaker';
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** The store: `'redis'` or `'redis-cluster'`. */
  readonly store: string;
}

/**
 * An event of `RateLimitEvents.events$`; tell them apart by `type`.
 *
 * @publicApi
 */
export type RateLimitEvent =
  RateLimitDenialEvent | RateLimitShadowDenialEvent | RateLimitFailureEvent | RateLimitBreakerEvent;
