import type { Observable } from 'rxjs';
import type { RateLimitEvent } from './rate-limit-event.interface.js';

/**
 * The module's events, for audit logs and alerts: denials, shadow denials, decisions of the
 * failure strategy and circuit breaker changes (`RateLimitEvent`). Inject it anywhere the module
 * is visible. Events are emitted synchronously, in the request that caused them: keep the
 * subscriber cheap and hand slow work (I/O) off. Nothing is built while nobody subscribes.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class RateLimitAudit implements OnModuleInit {
 *   constructor(private readonly rateLimit: RateLimitEvents) {}
 *
 *   onModuleInit() {
 *     this.rateLimit.events$
 *       .pipe(filter((event) => event.type === 'denial'))
 *       .subscribe(({ route, identity, limits }) => audit.write({ route, identity, limits }));
 *   }
 * }
 * ```
 * @publicApi
 */
export class RateLimitEvents {
  /** Hot: a subscriber sees the events from its subscription on; completes at shutdown. */
  readonly events$: Observable<RateLimitEvent>;

  constructor(events$: Observable<RateLimitEvent>) {
    this.events$ = events$;
  }
}
