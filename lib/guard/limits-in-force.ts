import { type ExecutionContext, Logger } from '@nestjs/common';
import type { RateLimitDecision } from '../decision/rate-limit-decision.interface.js';
import { bucketKey } from '../keys/bucket-key.js';
import { FAIL_CLOSED_RETRY_AFTER_MS, REPEATED_LOG_INTERVAL_MS } from '../options/defaults.js';
import type { PerRequest } from '../options/limit-options.interface.js';
import { resolveLimitInForce } from '../options/resolve-limits.js';
import type { ResolvedLimit } from '../options/resolved-limit.interface.js';
import { RATE_LIMIT_LOG_CONTEXT } from '../rate-limit.constants.js';
import { ThrottledLogger } from '../throttled-logger.js';
import { type PlannedLimit, planLimits, type RoutePlan } from './route-plan.js';

/** The limits in force for one request and their identities, or the refusal of the request. */
export type InForce =
  | { readonly plan: RoutePlan; readonly identities: readonly string[] }
  | { readonly refused: RateLimitDecision };

/**
 * Works out the limits whose capacity or refill is a function of the request, for one request:
 * runs the functions and checks what they give by the rules of a static limit
 * (options/resolve-limits.ts). A function that throws or gives an invalid value never becomes
 * a 500: it is logged (at most every 30 s) and its limit judged by its failure strategy:
 * - 'open': the limit does not apply to this request;
 * - 'closed': the request is refused as when the store fails (503 with Retry-After: 1);
 * - 'local': the limit this instance last worked out for the same bucket, kept for the
 *   `maxKnown` most recently used buckets; without one, as 'closed'.
 * A shadow limit never refuses: it does not apply instead.
 */
export class LimitsInForce {
  private readonly log = new ThrottledLogger(
    new Logger(RATE_LIMIT_LOG_CONTEXT),
    REPEATED_LOG_INTERVAL_MS,
  );
  /** The limit last worked out per bucket key, for 'local': least recently used first. */
  private readonly known = new Map<string, ResolvedLimit>();

  constructor(private readonly maxKnown: number) {}

  async resolve(
    plan: RoutePlan,
    identities: readonly string[],
    context: ExecutionContext,
  ): Promise<InForce> {
    const worked = await Promise.all(
      plan.limits.map(async (planned) =>
        planned.limit.perRequest === undefined ? planned.limit : this.workOut(planned, context),
      ),
    );
    const limits: PlannedLimit[] = [];
    const kept: string[] = [];
    for (const [i, planned] of plan.limits.entries()) {
      const identity = identities[i] ?? '';
      let limit = worked[i];
      if (planned.limit.perRequest !== undefined && planned.failureStrategy === 'local') {
        limit = this.lastKnown(bucketKey(planned.keyHead, identity), limit);
      }
      if (limit === undefined) {
        if (planned.failureStrategy === 'open' || planned.shadow) continue;
        return { refused: refusal() };
      }
      limits.push(limit === planned.limit ? planned : { ...planned, limit });
      kept.push(identity);
    }
    return { plan: planLimits(limits, plan.headers, plan.route), identities: kept };
  }

  /** The limit in force for this request; undefined (logged) when a function failed. */
  private async workOut(
    planned: PlannedLimit,
    context: ExecutionContext,
  ): Promise<ResolvedLimit | undefined> {
    const { limit } = planned;
    const { capacity, refill } = limit.perRequest!;
    const [capacityValue, refillValue] = await Promise.all([
      valueOf(capacity, context),
      valueOf(refill, context),
    ]);
    let problem: string;
    if ('error' in capacityValue) problem = `its capacity function threw ${capacityValue.error}`;
    else if ('error' in refillValue) problem = `its refill function threw ${refillValue.error}`;
    else {
      const inForce = resolveLimitInForce(limit, {
        capacity: capacityValue.value,
        refill: refillValue.value,
      });
      if (!('problems' in inForce)) return inForce;
      problem = `it gave ${inForce.problems.join('; ')}`;
    }
    this.log.error(
      () =>
        `limit '${limit.name}' of ${context.getClass().name}.${context.getHandler().name}: ${problem}; ` +
        `judged by its failure strategy '${planned.shadow ? 'open (shadow)' : planned.failureStrategy}'`,
    );
    return undefined;
  }

  /** Remembers a limit worked out for `key`, or gives the last one when this one failed. */
  private lastKnown(key: string, limit: ResolvedLimit | undefined): ResolvedLimit | undefined {
    const last = this.known.get(key);
    if (last !== undefined) this.known.delete(key);
    const current = limit ?? last;
    if (current === undefined) return undefined;
    this.known.set(key, current);
    if (this.known.size > this.maxKnown) this.known.delete(this.known.keys().next().value!);
    return current;
  }
}

/** What a value or a user's function gave: the value, or the description of what it threw. */
async function valueOf<T>(
  value: T | PerRequest<T> | undefined,
  context: ExecutionContext,
): Promise<{ value: unknown } | { error: string }> {
  if (typeof value !== 'function') return { value };
  try {
    return { value: await (value as PerRequest<T>)(context) };
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/** The decision of a request refused because a per-request limit could not be worked out. */
function refusal(): RateLimitDecision {
  return {
    allowed: false,
    limit: 0,
    remaining: 0,
    resetMs: 0,
    retryAfterMs: FAIL_CLOSED_RETRY_AFTER_MS,
    limits: [],
    source: 'fail-closed',
  };
}
