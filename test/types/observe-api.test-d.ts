// Compiled by `npm run lint` (tsc --noEmit): pins the types of metrics, events and shadow mode.
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  type CircuitState,
  type LimitDecision,
  RateLimit,
  type RateLimitDecision,
  type RateLimitEvent,
  type RateLimitEvents,
  RateLimitModule,
} from 'nest-redis-rate-limit';

// An SDK MeterProvider fits the option, which is typed without @opentelemetry/api.
RateLimitModule.forRoot({ meterProvider: new MeterProvider(), metrics: true, shadow: true });
RateLimitModule.forRootAsync({ useFactory: () => ({ metrics: false }) });
// @ts-expect-error metrics is a boolean
RateLimitModule.forRoot({ metrics: 'off' });
// @ts-expect-error a meterProvider has getMeter()
RateLimitModule.forRoot({ meterProvider: {} });

RateLimit({ capacity: 10, refill: '10/min', shadow: true });
// @ts-expect-error shadow is a boolean
RateLimit({ capacity: 10, refill: '10/min', shadow: 'yes' });

export function wouldHaveDenied(decision: RateLimitDecision): string[] {
  if (decision.shadow !== true) return [];
  return decision.limits
    .filter((limit: LimitDecision) => limit.shadow === true && !limit.allowed)
    .map((limit) => limit.name);
}

export function audit(events: RateLimitEvents): void {
  events.events$.subscribe((event: RateLimitEvent) => {
    switch (event.type) {
      case 'breaker': {
        const to: CircuitState = event.to;
        void to;
        // @ts-expect-error a breaker event has no identity
        void event.identity;
        break;
      }
      case 'shadow-denial': {
        const shadow: true = event.shadow;
        void shadow;
        break;
      }
      default: {
        const fields: [string, string | undefined, readonly string[], 'allowed' | 'denied'] = [
          event.identity,
          event.route,
          event.limits,
          event.outcome,
        ];
        void fields;
      }
    }
  });
}
