import type { BucketResult } from '../algorithms/algorithm.interface.js';
import type { FailureStrategy } from '../options/limit-options.interface.js';
import type { DecisionSource, Take } from '../pipeline/decision-layer.interface.js';
import type { LimitDecision, RateLimitDecision } from './rate-limit-decision.interface.js';

const STRATEGY_OF: Partial<Record<DecisionSource, FailureStrategy>> = {
  'fail-open': 'open',
  'fail-closed': 'closed',
  local: 'local',
};

/**
 * Builds the decision from a pipeline's take, limits named in the requests' order. The headline
 * fields come from the most restrictive limit: when denied, the denying limit with the longest
 * wait (-1 first); when allowed, the limit with the fewest tokens left. `shadow[i]` marks limits
 * in shadow mode: they never deny, so the verdict and a denial's headline come from the others.
 */
export function buildDecision(
  names: readonly string[],
  take: Take,
  shadow?: readonly boolean[],
): RateLimitDecision {
  const limits: LimitDecision[] = [];
  let allowed = true;
  let wouldDeny = false;
  let headline: LimitDecision | undefined;
  let enforcedHeadline: LimitDecision | undefined;
  take.results.forEach((result: BucketResult, i) => {
    const entry: LimitDecision = {
      name: names[i] ?? '',
      allowed: result.retryAfterMs === 0,
      limit: result.limit,
      remaining: result.remaining,
      resetMs: result.resetMs,
      retryAfterMs: result.retryAfterMs,
    };
    limits.push(entry);
    if (headline === undefined || moreRestrictive(entry, headline)) headline = entry;
    if (shadow?.[i] === true) {
      entry.shadow = true;
      if (!entry.allowed) wouldDeny = true;
      return;
    }
    if (!entry.allowed) allowed = false;
    if (
      shadow !== undefined &&
      (enforcedHeadline === undefined || moreRestrictive(entry, enforcedHeadline))
    ) {
      enforcedHeadline = entry;
    }
  });
  const chosen = (allowed ? headline : (enforcedHeadline ?? headline)) ?? {
    limit: 0,
    remaining: 0,
    resetMs: 0,
    retryAfterMs: 0,
  };
  const decision: RateLimitDecision = {
    allowed,
    limit: chosen.limit,
    remaining: chosen.remaining,
    resetMs: chosen.resetMs,
    retryAfterMs: allowed ? 0 : chosen.retryAfterMs,
    limits,
    source: take.source,
  };
  if (take.storeError !== undefined) {
    decision.storeError = take.storeError;
    decision.failureStrategy = STRATEGY_OF[take.source] ?? 'open';
  }
  if (allowed && wouldDeny) decision.shadow = true;
  return decision;
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
