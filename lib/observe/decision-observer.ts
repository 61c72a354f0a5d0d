import { Logger } from '@nestjs/common';
import { Subject } from 'rxjs';
import type {
  LimitDecision,
  RateLimitDecision,
} from '../decision/rate-limit-decision.interface.js';
import { SHADOW_LOG_INTERVAL_MS } from '../options/defaults.js';
import type { ResolvedModuleOptions } from '../options/resolved-module-options.interface.js';
import type { BreakerLayer } from '../pipeline/breaker.layer.js';
import type { StoreCallRecorder, StoreCallResult } from '../pipeline/store-timing.layer.js';
import { RATE_LIMIT_LOG_CONTEXT } from '../rate-limit.constants.js';
import { OtelMetrics } from './otel-metrics.js';
import type { RateLimitEvent } from './rate-limit-event.interface.js';
import { RateLimitEvents } from './rate-limit-events.js';

/** One decision of the guard or the service, with what metrics and events say about it. */
export interface DecisionObservation {
  /** Scope of the limits that name none: the route's `Controller.handler`, or `'service'`. */
  readonly scope: string;
  /** `Controller.handler` of the route; absent for RateLimitService calls. */
  readonly route?: string;
  /** The decision's limits, in its order (a RoutePlan's `limits`). */
  readonly limits: readonly { readonly limit: { readonly scope: string | undefined } }[];
  /** Each limit's bucket identity, in the same order. */
  readonly identities: readonly string[];
  readonly decision: RateLimitDecision;
}

/** A scope's shadow denials since its last log line. */
interface ShadowLogState {
  lastMs: number;
  held: number;
}

/**
 * The one place decisions are observed: OpenTelemetry metrics, the events of RateLimitEvents
 * and the log line of shadow denials hang off `observe`, which the guard and the service call
 * once per decision. Each costs nothing while off: no MeterProvider, no subscriber.
 */
export class DecisionObserver implements StoreCallRecorder {
  private readonly subject = new Subject<RateLimitEvent>();
  readonly events = new RateLimitEvents(this.subject.asObservable());
  private metrics: OtelMetrics | undefined;
  private readonly shadowLog = new Map<string, ShadowLogState>();
  private stopWatchingBreaker: () => void = () => {};

  constructor(
    private readonly options: Pick<ResolvedModuleOptions, 'metrics' | 'meterProvider'>,
    private readonly logger: Pick<Logger, 'log' | 'warn'> = new Logger(RATE_LIMIT_LOG_CONTEXT),
  ) {}

  get recording(): boolean {
    return this.metrics !== undefined;
  }

  /**
   * Creates the instruments (unless `metrics: false`) and follows the breaker's state. Never
   * fails: metrics that cannot start are logged and stay off.
   */
  async start(breaker: BreakerLayer | undefined): Promise<void> {
    if (breaker !== undefined) {
      this.stopWatchingBreaker = breaker.onStateChange((from, to) => {
        if (this.subject.observed) {
          this.subject.next({ type: 'breaker', from, to, store: breaker.description });
        }
      });
    }
    if (!this.options.metrics) return;
    try {
      this.metrics = await OtelMetrics.create(this.options.meterProvider, breaker?.breaker);
    } catch (error) {
      this.logger.warn(`Rate limit metrics are off: ${String(error)}`);
    }
  }

  observe(observation: DecisionObservation): void {
    const { decision } = observation;
    const shadow = decision.shadow === true;
    const metrics = this.metrics;
    const watched = this.subject.observed;
    if (metrics === undefined && !watched && !shadow) return;
    const scope = decisionScope(observation);
    if (metrics !== undefined) count(metrics, observation, scope);
    if (watched) this.emit(observation, scope);
    if (shadow) this.logShadow(observation, scope);
  }

  record(durationMs: number, result: StoreCallResult): void {
    this.metrics?.storeCall(durationMs, result);
  }

  close(): void {
    this.stopWatchingBreaker();
    this.metrics?.close();
    this.metrics = undefined;
    this.subject.complete();
  }

  /** At most one event per decision: failure strategy, else denial, else shadow denial. */
  private emit(observation: DecisionObservation, scope: string): void {
    const { decision, identities, route } = observation;
    const shadow = decision.shadow === true;
    const about = (include: (limit: LimitDecision) => boolean) => {
      const names: string[] = [];
      let identity: string | undefined;
      decision.limits.forEach((limit, i) => {
        if (!include(limit)) return;
        names.push(limit.name);
        identity ??= identities[i];
      });
      return {
        scope,
        ...(route === undefined ? {} : { route }),
        identity: identity ?? identities[0] ?? '',
        limits: names,
        source: decision.source,
        decision,
      };
    };
    if (decision.storeError !== undefined) {
      this.subject.next({
        type: 'failure',
        ...about(() => true),
        outcome: decision.allowed && !shadow ? 'allowed' : 'denied',
        shadow,
      });
    } else if (!decision.allowed) {
      this.subject.next({
        type: 'denial',
        ...about((limit) => !limit.allowed && limit.shadow !== true),
        outcome: 'denied',
        shadow: false,
      });
    } else if (shadow) {
      this.subject.next({
        type: 'shadow-denial',
        ...about((limit) => !limit.allowed),
        outcome: 'denied',
        shadow: true,
      });
    }
  }

  /** At most one line a second per scope, counting the shadow denials in between. */
  private logShadow(observation: DecisionObservation, scope: string): void {
    const nowMs = Date.now();
    let state = this.shadowLog.get(scope);
    if (state === undefined) {
      state = { lastMs: Number.NEGATIVE_INFINITY, held: 0 };
      this.shadowLog.set(scope, state);
    }
    if (nowMs - state.lastMs < SHADOW_LOG_INTERVAL_MS) {
      state.held += 1;
      return;
    }
    const names = observation.decision.limits
      .filter((limit) => !limit.allowed)
      .map((limit) => `'${limit.name}'`)
      .join(', ');
    const held = state.held > 0 ? ` (${state.held} more since the last line)` : '';
    state.lastMs = nowMs;
    state.held = 0;
    this.logger.log(
      `Shadow mode: ${names} would have denied a request in scope '${scope}'; it passed${held}`,
    );
  }
}

/** The limits' scope when they share one, else the default one (the route's). */
function decisionScope({ limits, scope: fallback }: DecisionObservation): string {
  let shared: string | undefined;
  for (const { limit } of limits) {
    const scope = limit.scope ?? fallback;
    if (shared === undefined) shared = scope;
    else if (shared !== scope) return fallback;
  }
  return shared ?? fallback;
}

/**
 * One decision, and one denial per limit that denied (a limit in shadow mode counts with
 * `ratelimit.shadow`). A shadow denial is a decision `denied` with `ratelimit.shadow`.
 */
function count(metrics: OtelMetrics, observation: DecisionObservation, scope: string): void {
  const { decision, limits, scope: fallback } = observation;
  const shadow = decision.shadow === true;
  const denied = !decision.allowed || shadow;
  metrics.decision(scope, denied, decision.source, shadow);
  if (!denied) return;
  decision.limits.forEach((limit, i) => {
    if (limit.allowed) return;
    metrics.denial(limits[i]?.limit.scope ?? fallback, limit.name, limit.shadow === true);
  });
}
