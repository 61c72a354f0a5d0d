import type { FailureStrategy } from '../options/limit-options.interface.js';
import type { BucketRule } from '../options/resolved-limit.interface.js';
import type { RateLimitStoreError } from '../errors/rate-limit-store.error.js';
import type { LimitDecision, RateLimitDecision } from './rate-limit-decision.interface.js';

/** Ms a fail-closed denial asks the client to wait (the 503's Retry-After: 1). */
export const FAIL_CLOSED_RETRY_AFTER_MS = 1000;

/**
 * Builds the decision from a store's flat reply (per bucket [remaining, resetMs, retryAfterMs]).
 * The headline fields come from the most restrictive limit: when denied, the denying limit
 * with the longest wait (-1 first); when allowed, the limit with the fewest tokens left.
 */
export function buildDecision(
  names: readonly string[],
  rules: readonly BucketRule[],
  reply: readonly number[],
): RateLimitDecision {
  const limits: LimitDecision[] = [];
  let allowed = true;
  let headline = 0;
  for (let i = 0; i < names.length; i++) {
    const retryAfterMs = reply[3 * i + 2]!;
    const entry: LimitDecision = {
      name: names[i]!,
      allowed: retryAfterMs === 0,
      limit: rules[i]!.capacity,
      remaining: reply[3 * i]!,
      resetMs: reply[3 * i + 1]!,
      retryAfterMs,
    };
    limits.push(entry);
    if (retryAfterMs !== 0) allowed = false;
    if (i > 0 && moreRestrictive(entry, limits[headline]!)) headline = i;
  }
  const chosen = limits[headline]!;
  return {
    allowed,
    limit: chosen.limit,
    remaining: chosen.remaining,
    resetMs: chosen.resetMs,
    retryAfterMs: allowed ? 0 : chosen.retryAfterMs,
    limits,
  };
}

function moreRestrictive(candidate: LimitDecision, current: LimitDecision): boolean {
  if (candidate.allowed !== current.allowed) return !candidate.allowed;
  if (!candidate.allowed) {
    if (current.retryAfterMs === -1) return false;
    return candidate.retryAfterMs === -1 || candidate.retryAfterMs > current.retryAfterMs;
  }
  if (candidate.remaining !== current.remaining) return candidate.remaining < current.remaining;
  return candidate.resetMs > current.resetMs;
}

/** The decision of the 'open' or 'closed' strategy when the store could not decide. */
export function failureDecision(
  names: readonly string[],
  rules: readonly BucketRule[],
  strategy: Exclude<FailureStrategy, 'local'>,
  storeError: RateLimitStoreError,
): RateLimitDecision {
  const allowed = strategy === 'open';
  const retryAfterMs = allowed ? 0 : FAIL_CLOSED_RETRY_AFTER_MS;
  const limits = names.map((name, i) => ({
    name,
    allowed,
    limit: rules[i]!.capacity,
    remaining: allowed ? rules[i]!.capacity : 0,
    resetMs: 0,
    retryAfterMs,
  }));
  const first = limits[0]!;
  return {
    allowed,
    limit: first.limit,
    remaining: first.remaining,
    resetMs: 0,
    retryAfterMs,
    limits,
    storeError,
    failureStrategy: strategy,
  };
}
