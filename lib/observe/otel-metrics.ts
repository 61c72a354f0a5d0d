import type {
  Counter,
  Histogram,
  Meter,
  ObservableGauge,
  ObservableResult,
} from '@opentelemetry/api';
import type { DecisionSource } from '../pipeline/decision-layer.interface.js';
import type { CircuitBreaker, CircuitState } from '../pipeline/circuit-breaker.js';
import type { StoreCallResult } from '../pipeline/store-timing.layer.js';
import type { RateLimitMeterProvider } from '../options/rate-limit-module-options.interface.js';

/** The meter every instrument belongs to. */
export const METER_NAME = 'nest-redis-rate-limit';

const BREAKER_STATE: Readonly<Record<CircuitState, number>> = {
  closed: 0,
  open: 1,
  'half-open': 2,
};

/** Sub-millisecond to the largest sensible `timeoutMs`: a store round trip, not an HTTP request. */
const STORE_DURATION_BUCKETS_MS = [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];

/**
 * The OpenTelemetry instruments, created once at startup. Attributes name scopes, limits,
 * outcomes and sources only: never an identity, an IP or a key.
 */
export class OtelMetrics {
  private constructor(
    private readonly decisions: Counter,
    private readonly denials: Counter,
    private readonly storeDuration: Histogram,
    private readonly breakerGauge: ObservableGauge | undefined,
    private readonly observeBreaker: (result: ObservableResult) => void,
  ) {}

  /**
   * The instruments on `provider`, else on the global MeterProvider of `@opentelemetry/api`.
   * Undefined when there is nothing to record to: the optional peer is not installed, or no
   * MeterProvider is registered (the API's no-op meter), so metrics then cost nothing at all.
   */
  static async create(
    provider: RateLimitMeterProvider | undefined,
    breaker: CircuitBreaker | undefined,
  ): Promise<OtelMetrics | undefined> {
    // getMeter() of an OpenTelemetry MeterProvider returns a Meter: the option is typed
    // structurally only so that the module's types do not need @opentelemetry/api.
    const meter =
      provider === undefined ? await globalMeter() : (provider.getMeter(METER_NAME) as Meter);
    if (meter === undefined) return undefined;
    const decisions = meter.createCounter('ratelimit.decisions', {
      description: 'Rate limit decisions, by scope, outcome and the layer that answered',
    });
    const denials = meter.createCounter('ratelimit.denials', {
      description: 'Limits that denied a request, by scope and limit name',
    });
    const storeDuration = meter.createHistogram('ratelimit.store.duration', {
      unit: 'ms',
      description: 'Calls to the rate limit store (Redis round trips), by result',
      advice: { explicitBucketBoundaries: STORE_DURATION_BUCKETS_MS },
    });
    const observeBreaker = (result: ObservableResult): void => {
      if (breaker !== undefined) result.observe(BREAKER_STATE[breaker.state]);
    };
    let breakerGauge: ObservableGauge | undefined;
    if (breaker !== undefined) {
      breakerGauge = meter.createObservableGauge('ratelimit.breaker.state', {
        description: 'Circuit breaker of the rate limit store: 0 closed, 1 open, 2 half-open',
      });
      breakerGauge.addCallback(observeBreaker);
    }
    return new OtelMetrics(decisions, denials, storeDuration, breakerGauge, observeBreaker);
  }

  decision(scope: string, denied: boolean, source: DecisionSource, shadow: boolean): void {
    const outcome = denied ? 'denied' : 'allowed';
    this.decisions.add(
      1,
      shadow
        ? {
            'ratelimit.scope': scope,
            'ratelimit.outcome': outcome,
            'ratelimit.source': source,
            'ratelimit.shadow': true,
          }
        : { 'ratelimit.scope': scope, 'ratelimit.outcome': outcome, 'ratelimit.source': source },
    );
  }

  denial(scope: string, limit: string, shadow: boolean): void {
    this.denials.add(
      1,
      shadow
        ? { 'ratelimit.scope': scope, 'ratelimit.limit': limit, 'ratelimit.shadow': true }
        : { 'ratelimit.scope': scope, 'ratelimit.limit': limit },
    );
  }

  storeCall(durationMs: number, result: StoreCallResult): void {
    this.storeDuration.record(durationMs, { 'ratelimit.result': result });
  }

  /** Stops observing the breaker (the meter's provider may outlive the module). */
  close(): void {
    this.breakerGauge?.removeCallback(this.observeBreaker);
  }
}

/** The global meter, or undefined when @opentelemetry/api is absent or has no MeterProvider. */
async function globalMeter(): Promise<Meter | undefined> {
  const api = await importApi();
  if (api === undefined) return undefined;
  const meter = api.metrics.getMeter(METER_NAME);
  // Without a registered MeterProvider the API hands out its shared no-op meter.
  return meter === api.createNoopMeter() ? undefined : meter;
}

/** The optional peer, imported on first use only, so the module loads without it. */
async function importApi() {
  try {
    return await import('@opentelemetry/api');
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}
