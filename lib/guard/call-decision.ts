import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { RateLimitDecision } from '../decision/rate-limit-decision.interface.js';

/**
 * What identifies one call to both its guards and its interceptors: the HTTP request (Nest's
 * router hands them separate arguments arrays), else the arguments array they share.
 */
export function callOf(context: ExecutionContext): object {
  const request: unknown = context.getType() === 'http' ? context.getArgByIndex(0) : undefined;
  return typeof request === 'object' && request !== null ? request : context.getArgs();
}

/** The decision of each call the guard decided, for @RateLimitInfo. */
const DECISIONS = new WeakMap<object, RateLimitDecision>();

/**
 * The decision of the handler running now, outside HTTP. There Nest gives parameter decorators a
 * copy of the arguments array, not the one guards and interceptors share, so they cannot find
 * the call; RateLimitInterceptor runs the handler inside this store instead.
 */
const HANDLER_DECISION = new AsyncLocalStorage<RateLimitDecision>();

export function recordDecision(context: ExecutionContext, decision: RateLimitDecision): void {
  DECISIONS.set(callOf(context), decision);
}

/**
 * The handler of the call, run where decisionOf finds the call's decision: on HTTP as is (the
 * request holds it), elsewhere inside HANDLER_DECISION when the call has a decision.
 */
export function handleWithDecision(
  context: ExecutionContext,
  next: CallHandler,
): Observable<unknown> {
  const decision = context.getType() === 'http' ? undefined : DECISIONS.get(context.getArgs());
  if (decision === undefined) return next.handle();
  // Subscribed inside run(): the handler and its parameter decorators run in that context.
  return new Observable((subscriber) =>
    HANDLER_DECISION.run(decision, () => next.handle().subscribe(subscriber)),
  );
}

/** The decision of the call a parameter decorator's context belongs to; undefined: none. */
export function decisionOf(context: ExecutionContext): RateLimitDecision | undefined {
  return context.getType() === 'http'
    ? DECISIONS.get(callOf(context))
    : HANDLER_DECISION.getStore();
}
