import { type ExecutionContext, Logger } from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import type { RateLimitDecision } from '../decision/rate-limit-decision.interface.js';
import { REPEATED_LOG_INTERVAL_MS } from '../options/defaults.js';
import type { ChargeOn } from '../options/limit-options.interface.js';
import type { DecisionSource } from '../pipeline/decision-layer.interface.js';
import { RATE_LIMIT_LOG_CONTEXT } from '../rate-limit.constants.js';
import type { RateLimitEngine } from '../rate-limit.engine.js';
import { ThrottledLogger } from '../throttled-logger.js';
import { callOf } from './call-decision.js';
import { nodeResponse } from '../http/node-response.js';
import { bucketRequests, type RoutePlan } from './route-plan.js';

type Outcome = Exclude<ChargeOn, 'always'>;

/**
 * Where a decision's charge went, when the pipeline's refund gives it back there: the store, or
 * (leased tokens) this instance's lease, whose tokens the store had already given up. A charge in
 * the failure strategy's local buckets ('local') stays: the refund would go to Redis instead.
 */
const REFUNDABLE: ReadonlySet<DecisionSource> = new Set(['redis', 'memory', 'lease']);

/** Calls outside HTTP whose charges wait for their handler's outcome (RateLimitInterceptor). */
const PENDING = new WeakMap<object, (outcome: Outcome) => void>();

const log = new ThrottledLogger(new Logger(RATE_LIMIT_LOG_CONTEXT), REPEATED_LOG_INTERVAL_MS);

/** Calls whose whole charge goes back if a concurrency limit refuses them (giveBackCharge). */
const GIVE_BACK = new WeakMap<object, () => void>();

/**
 * Called by the guard after a decision: for the limits with `chargeOn: 'success' | 'failure'`
 * that it charged, arranges to give the charge back once the call's outcome is known and does
 * not match. HTTP: the status the response was sent with, when it has been sent (< 400 is a
 * success), whoever set it (handler, exception filter, a later guard or pipe). Elsewhere: the
 * handler completed (success) or threw (failure), seen by RateLimitInterceptor. A call whose
 * outcome is never known (the client went away before the response was sent, another guard
 * refused it outside HTTP) keeps its charge: it errs on the side of denying. With
 * `refundable`, the call's whole charge can also be given back by giveBackCharge (a concurrency
 * limit refused it). Each charge is given back at most once; a refund the store refuses is
 * logged, and its tokens return by refilling.
 */
export function chargeOnOutcome(
  engine: RateLimitEngine,
  context: ExecutionContext,
  plan: RoutePlan,
  identities: readonly string[],
  costs: readonly number[],
  decision: RateLimitDecision,
  refundable = false,
): void {
  const conditional = plan.limits.some(({ limit }) => limit.chargeOn !== 'always');
  if (!conditional && !refundable) return;
  if (!decision.allowed || !REFUNDABLE.has(decision.source)) return;
  const requests = bucketRequests(plan, identities, costs);
  const charges = plan.limits.flatMap(({ limit }, i) =>
    charged(decision, i)
      ? [{ name: limit.name, chargeOn: limit.chargeOn, request: requests[i]! }]
      : [],
  );
  if (charges.length === 0) return;
  let settled = false;
  const giveBack = (refunds: typeof charges, why: string): void => {
    if (settled) return;
    settled = true;
    if (refunds.length === 0) return;
    engine
      .refund(refunds.map(({ request }) => request))
      .catch((error: unknown) =>
        log.warn(
          () =>
            `Could not give back the charge of ${refunds.map(({ name }) => `'${name}'`).join(', ')} ` +
            `(${why}): ${error instanceof Error ? error.message : String(error)}; ` +
            'its tokens return as the bucket refills',
        ),
      );
  };
  if (refundable) {
    GIVE_BACK.set(callOf(context), () => giveBack(charges, 'a concurrency limit refused the call'));
  }
  if (!conditional) return;
  const settle = (outcome: Outcome): void =>
    giveBack(
      charges.filter((charge) => charge.chargeOn !== 'always' && charge.chargeOn !== outcome),
      `chargeOn, the call was a ${outcome}`,
    );
  const response = nodeResponse(context);
  if (response === undefined) {
    PENDING.set(callOf(context), settle);
    return;
  }
  // Gone before its response: the outcome is unknown and the charge stays.
  if (response.destroyed) return;
  response.once('close', () => {
    if (response.writableFinished) settle(response.statusCode < 400 ? 'success' : 'failure');
  });
}

/** Gives back the whole charge of a call a concurrency limit refused; at most once. */
export function giveBackCharge(context: ExecutionContext): void {
  const call = callOf(context);
  const giveBack = GIVE_BACK.get(call);
  GIVE_BACK.delete(call);
  giveBack?.();
}

/**
 * The handler's observable, which settles the call's pending charges when it completes
 * (success) or fails (failure). Called by RateLimitInterceptor; a call without pending charges
 * costs one WeakMap lookup.
 */
export function settleOnHandlerOutcome(
  context: ExecutionContext,
  handled: Observable<unknown>,
): Observable<unknown> {
  const call = callOf(context);
  const settle = PENDING.get(call);
  if (settle === undefined) return handled;
  PENDING.delete(call);
  return handled.pipe(tap({ complete: () => settle('success'), error: () => settle('failure') }));
}

/**
 * Whether a decision that allowed the call charged limit `i`: every enforced limit was charged;
 * the limits in shadow mode were taken after them, all or nothing among themselves.
 */
function charged(decision: RateLimitDecision, i: number): boolean {
  if (decision.limits[i]?.shadow !== true) return true;
  return decision.limits.every((limit) => limit.shadow !== true || limit.allowed);
}
