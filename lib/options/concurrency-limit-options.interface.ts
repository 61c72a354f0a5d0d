import type { FailureStrategy, KeyBy } from './limit-options.interface.js';

/**
 * An in-flight limit: at most `max` requests of one identity run at once. A request holds a
 * slot from the guard until its response has been sent, has failed, or its client has gone away
 * (HTTP); elsewhere until its handler has completed or thrown. Slots live in Redis, each with a
 * lease of `leaseMs` that its instance renews while the request runs: slots an instance held
 * when it died come back within one lease. A request over the limit is denied (HTTP 429 with
 * `Retry-After`, or the transport's equivalent) and takes no slot.
 *
 * @example
 * ```ts
 * @ConcurrencyLimit({ max: 2, keyBy: 'apiKey' }) // two exports in flight per API key
 * @Post('exports')
 * export() {}
 * ```
 * @publicApi
 */
export interface ConcurrencyLimitOptions {
  /** Requests in flight at once per identity: an integer from 1 to 100,000. */
  max: number;
  /** Identity of the caller. @default the module's `keyBy` */
  keyBy?: KeyBy | undefined;
  /** Routes sharing a scope share slots. @default '<Controller>.<handler>' ('service' for RateLimitService.acquire) */
  scope?: string | undefined;
  /**
   * How long a slot lives in Redis without being renewed, in milliseconds, from 1,000 to one
   * day. Its holder renews it every third of that while the request runs, so this bounds only
   * how long the slots of an instance that died (or froze) stay taken.
   * @default 30000
   */
  leaseMs?: number | undefined;
  /** Names the limit in decisions, metrics and events. @default 'in-flight' */
  name?: string | undefined;
  /**
   * The Retry-After of a denial, in milliseconds. A slot frees when some request in flight ends,
   * which nobody can foresee, so a denial asks for a prompt retry rather than a lease's length.
   * @default 1000
   */
  retryAfterMs?: number | undefined;
  /**
   * What happens when Redis cannot answer: 'open' admits without a slot, 'closed' refuses
   * (503), 'local' counts slots in this process against `max / instances` (at least 1).
   * @default the module's `failureStrategy`
   */
  failureStrategy?: FailureStrategy | undefined;
  /**
   * Shadow mode: a request over the limit passes (holding no slot) and is reported as a shadow
   * denial in metrics, events and the log. @default the module's `shadow`
   */
  shadow?: boolean | undefined;
}

/**
 * The options of RateLimitService.acquire: those of a concurrency limit, whose identity is the
 * key the call gives.
 *
 * @publicApi
 */
export type AcquireOptions = Omit<ConcurrencyLimitOptions, 'keyBy'>;
