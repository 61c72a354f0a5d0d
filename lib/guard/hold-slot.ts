import type { ExecutionContext } from '@nestjs/common';
import { finalize, type Observable } from 'rxjs';
import { nodeResponse } from '../http/node-response.js';
import { callOf } from './call-decision.js';

/** Takes a call's slot; resolves to its release, or rejects with the call's refusal. */
export type SlotAcquisition = (context: ExecutionContext) => Promise<() => Promise<void>>;

/** Calls the guard admitted whose concurrency limit takes a slot in RateLimitInterceptor. */
const WANTED = new WeakMap<object, SlotAcquisition>();

/**
 * Called by the guard once the call's rate limits passed: its slot is taken by the interceptor,
 * after every guard, so that a call another guard refuses never holds one (outside HTTP nothing
 * would release it) and a `'user'` identity is attached by then.
 */
export function wantSlot(context: ExecutionContext, acquire: SlotAcquisition): void {
  WANTED.set(callOf(context), acquire);
}

/** The call's slot acquisition, once; undefined when it has no concurrency limit. */
export function takeWantedSlot(context: ExecutionContext): SlotAcquisition | undefined {
  const call = callOf(context);
  const acquire = WANTED.get(call);
  if (acquire !== undefined) WANTED.delete(call);
  return acquire;
}

/**
 * The handler's observable, with the slot released when the call is done. HTTP: when the
 * response has been sent or its connection closed (a client that went away frees its slot at
 * once, while the handler may still run), which covers what happens after the handler too (an
 * exception filter, a streamed body). Elsewhere: when the handler completes, fails or is
 * unsubscribed.
 */
export function releaseWhenDone(
  context: ExecutionContext,
  handled: Observable<unknown>,
  release: () => Promise<void>,
): Observable<unknown> {
  const response = nodeResponse(context);
  if (response === undefined) return handled.pipe(finalize(() => void release()));
  if (response.destroyed) {
    void release();
  } else {
    response.once('close', () => void release());
    response.once('finish', () => void release());
  }
  return handled;
}
