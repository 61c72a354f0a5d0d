import type { LimitDecision } from '../decision/rate-limit-decision.interface.js';
import type { ResolvedLimit } from '../options/resolved-limit.interface.js';

/**
 * Which rate-limit headers a response carries: `'draft-10'` (RateLimit-Policy and RateLimit),
 * `'legacy'` (X-RateLimit-Limit, -Remaining, -Reset), `'both'`, or none (`false`).
 */
export type HeadersMode = 'draft-10' | 'legacy' | 'both' | false;

/**
 * `RateLimit-Policy` of the IETF ratelimit-headers draft (draft-10): per limit, q = capacity
 * and w = whole seconds to refill from empty (a window: the window), rounded up.
 */
export function policyHeader(limits: readonly ResolvedLimit[]): string {
  return limits
    .map((limit) => `"${limit.name}";q=${limit.capacity};w=${limit.windowSeconds}`)
    .join(', ');
}

/**
 * `RateLimit`: per limit, r = whole tokens remaining, t = seconds until full, rounded up (a fixed
 * window: to the window's end; a sliding window: until both windows weigh nothing).
 */
export function rateLimitHeader(limits: readonly LimitDecision[]): string {
  return limits.map(rateLimitItem).join(', ');
}

function rateLimitItem(limit: LimitDecision): string {
  return `"${limit.name}";r=${limit.remaining};t=${Math.ceil(limit.resetMs / 1000)}`;
}

/**
 * `X-RateLimit-Reset` as GitHub and express-rate-limit send it: the UTC epoch second (rounded up)
 * at which the bucket is full again, by this instance's clock.
 */
export function resetEpochSeconds(resetMs: number, nowMs: number): number {
  return Math.ceil((nowMs + resetMs) / 1000);
}

/** `Retry-After` in whole seconds, at least 1; undefined when the request can never pass. */
export function retryAfterSeconds(retryAfterMs: number): number | undefined {
  return retryAfterMs < 0 ? undefined : Math.max(1, Math.ceil(retryAfterMs / 1000));
}
