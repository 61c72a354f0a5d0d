import type { ExecutionContext } from '@nestjs/common';

/**
 * How a caller is identified.
 * - `'ip'`: `req.ip`, which honours the platform's trust-proxy setting; never raw `X-Forwarded-For`.
 * - `'user'`: `req.user.id`, else `req.user.sub`; without a user, falls back to `'ip'`.
 * - `'apiKey'`: the `x-api-key` header, stored only as a SHA-256 hash; none: falls back to `'ip'`.
 *   A header longer than 512 characters, sent several times, or holding a comma (Node joins a
 *   repeated header with ', ') gets a 400 (InvalidApiKeyHeaderException) that names the header
 *   and the rule, never the key; it is not hashed, stored nor logged. A header over Node's 16 KB
 *   `maxHeaderSize` never reaches the guard: the HTTP server answers 431 (Express and Fastify).
 * - a function: its result; `undefined` falls back to `'ip'`.
 *
 * @publicApi
 */
export type KeyBy =
  | 'ip'
  | 'user'
  | 'apiKey'
  | ((context: ExecutionContext) => string | undefined | Promise<string | undefined>);

/**
 * What happens to a request when the store cannot decide (error, timeout, circuit open):
 * - `'open'` lets it through (availability first: the route is unprotected meanwhile);
 * - `'closed'` answers 503 with `Retry-After: 1` (protection first: the route is down meanwhile);
 * - `'local'` judges it in this process's memory with capacity and refill divided by the
 *   module's `instances`, so a fleet keeps roughly its global limit (429 with headers as usual).
 *   Each instance's share is fixed: uneven load across instances admits less than the limit,
 *   and a wrong `instances` estimate admits more (too low) or less (too high).
 *
 * A request under several limits gets the most protective strategy among them:
 * closed over local over open.
 *
 * @publicApi
 */
export type FailureStrategy = 'open' | 'closed' | 'local';

/**
 * Which calls a limit counts. Every call is judged up front as usual (a denial still denies);
 * with `'success'` or `'failure'`, a call's charge is given back after its handler when its
 * outcome is the other one. HTTP: the status the response was sent with, < 400 being a success;
 * other transports: the handler completed (success) or threw (failure). A call whose outcome is
 * never known (the client went away first) keeps its charge.
 *
 * @publicApi
 */
export type ChargeOn = 'always' | 'success' | 'failure';

/** Units of a refill string: `'100/min'`. */
export type RefillUnit =
  's' | 'sec' | 'second' | 'm' | 'min' | 'minute' | 'h' | 'hour' | 'd' | 'day';

/**
 * Refill rate: a number is tokens per second; a string is `'<n>/<unit>'` with unit one of
 * s|sec|second|m|min|minute|h|hour|d|day (e.g. `'100/min'`; `'5/minutes'` does not compile); or
 * tokens per interval. Rates are kept in whole microseconds per token, rounded up: exact when a
 * token takes whole microseconds, and slower by less than 1 µs per token otherwise (`'3/s'` is
 * one token every 333,334 µs).
 *
 * @publicApi
 */
export type Refill = number | `${number}/${RefillUnit}` | { tokens: number; intervalMs: number };

/**
 * A limit's capacity or refill worked out for each request (sync or async): a customer's quota
 * from a database, a plan named by a header. Its result is checked by the rules of a static
 * value; one that throws or is invalid is logged (at most every 30 s) and the limit is judged by
 * its failure strategy: 'open' skips the limit for that request, 'closed' refuses it (503), and
 * 'local' uses the value last worked out for the same bucket in this process (503 without one).
 * A bucket keeps its state when its limits change: the moment it is full again, capped at the
 * time the limits in force take to refill it from empty. Not for RateLimitService (no request).
 *
 * @example
 * ```ts
 * @RateLimit({ capacity: async (ctx) => (await plans.of(ctx)).burst, refill: '10/s' })
 * ```
 * @publicApi
 */
export type PerRequest<T> = (context: ExecutionContext) => T | Promise<T>;

/**
 * One limit applied to a route or a service call: a token bucket (`capacity` and `refill`, the
 * default) or a window (`algorithm: 'fixed-window' | 'sliding-window'`, `capacity` and
 * `windowMs`). One route may mix them; they are judged together, all-or-nothing.
 *
 * @example
 * ```ts
 * @RateLimit({ capacity: 10, refill: '10/min', keyBy: 'apiKey' })
 * @RateLimit({ algorithm: 'fixed-window', capacity: 1000, windowMs: 3_600_000, name: 'hourly' })
 * ```
 * @publicApi
 */
export type LimitOptions = TokenBucketLimitOptions | WindowLimitOptions;

/**
 * A token bucket: holds `capacity` tokens, a request takes `cost` of them, and they return at
 * the `refill` rate. Smooth: bursts up to `capacity`, then the refill rate.
 *
 * @publicApi
 */
export interface TokenBucketLimitOptions extends CommonLimitOptions {
  /** @default 'token-bucket' */
  algorithm?: 'token-bucket' | undefined;
  /**
   * Bucket size, the largest burst: a positive integer up to 1e9, or a function of the request
   * giving it (see PerRequest).
   */
  capacity: number | PerRequest<number>;
  /** Rate at which tokens return, up to `capacity`; or a function of the request giving it. */
  refill: Refill | PerRequest<Refill>;
  /** Windows only. */
  windowMs?: undefined;
}

/**
 * A window: at most `capacity` tokens (requests of cost 1) per `windowMs`, windows aligned to
 * Redis's clock (the same instants for every identity).
 * - `'fixed-window'`: counts each window from zero; what "100 requests per hour" means to most
 *   customers, and what @nestjs/throttler does. A client may spend `capacity` at the end of one
 *   window and again at the start of the next. A denial waits for the window's end.
 * - `'sliding-window'`: the weighted two-window counter. The previous window's count weighs in
 *   as if spread evenly over it, which smooths the double burst at the boundary; measured
 *   against an exact sliding log in the README ("Choosing an algorithm").
 *
 * A fractional cost counts as its ceiling. Not leased (`lease` is for token buckets).
 *
 * @publicApi
 */
export interface WindowLimitOptions extends CommonLimitOptions {
  algorithm: 'fixed-window' | 'sliding-window';
  /** Tokens per window: a positive integer, or a function of the request giving it. */
  capacity: number | PerRequest<number>;
  /** The window's length: whole milliseconds, from 1 to 366 days. */
  windowMs: number;
  /** Token buckets only. */
  refill?: undefined;
  /** Token buckets only. */
  lease?: undefined;
}

/** What every limit takes, whatever its algorithm. */
export interface CommonLimitOptions {
  /** Unique among one handler's limits; appears in the RateLimit headers. @default 'default' */
  name?: string | undefined;
  /** Identity of the caller. @default the module's `keyBy` */
  keyBy?: KeyBy | undefined;
  /**
   * Tokens one request takes: a non-negative number or a function of the request. A number
   * above `capacity`, negative, NaN or infinite stops the app at startup (RateLimitConfigError).
   * A function's result above `capacity` is denied with 429 and no Retry-After (it can never
   * pass; nothing is charged); anything but a finite number >= 0 is logged and costs 1.
   * @default 1
   */
  cost?: number | ((context: ExecutionContext) => number | Promise<number>) | undefined;
  /** Routes sharing a scope share buckets. @default '<Controller>.<handler>' ('service' for RateLimitService calls) */
  scope?: string | undefined;
  /** Overrides the module's failure strategy for this limit. */
  failureStrategy?: FailureStrategy | undefined;
  /**
   * Applies the limit only to requests for which this returns true, e.g. per-plan limits.
   * @default every request
   */
  when?: ((context: ExecutionContext) => boolean | Promise<boolean>) | undefined;
  /**
   * Token leasing (opt-in, Redis stores only): when a request goes to Redis, this instance also
   * takes up to `tokens` more tokens and spends them locally on the next requests for the same
   * bucket, without a round trip, for at most `ttlMs` (default 1000); what is left then goes
   * back to Redis. Never over-admits, since tokens leave Redis before they are spent; the price
   * is under-admission while tokens sit unspent in one instance's lease, and approximate
   * `remaining` headers. A key's first request within `ttlMs` leases nothing (a key that never
   * comes back would cost a refund). A request under several limits leases only if all lease.
   */
  lease?: { tokens: number; ttlMs?: number } | undefined;
  /**
   * Shadow mode: the limit is judged, charged and reported (headers, metrics, events) as usual
   * but never denies; `decision.limits[i].allowed` says whether it would have. A route mixing
   * shadow and enforced limits judges its shadow limits in a second call, after the enforced
   * ones, so a shadow denial never keeps the enforced limits from being charged.
   * @default the module's `shadow` (false)
   */
  shadow?: boolean | undefined;
  /**
   * Count only the calls that succeed (`'success'`) or fail (`'failure'`, e.g. failed logins):
   * see ChargeOn. RateLimitService.consume ignores it (use `refund()` there).
   * @default 'always'
   */
  chargeOn?: ChargeOn | undefined;
}
