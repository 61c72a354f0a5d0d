import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { catchError, from, type Observable, switchMap, throwError } from 'rxjs';
import { handleWithDecision } from './guard/call-decision.js';
import { settleOnHandlerOutcome } from './guard/charge-on.js';
import { releaseWhenDone, takeWantedSlot } from './guard/hold-slot.js';
import { retryAfterSeconds } from './http/rate-limit-headers.js';
import { TooManyRequestsException } from './http/too-many-requests.exception.js';
import { finishDeferred } from './rate-limit.guard.js';

/**
 * Runs after every guard of a call, before its handler: finishes the limits RateLimitGuard
 * deferred because they are keyed by a user that the app's own guards had not attached yet
 * (global guards run before controller guards), takes the call's slot of a concurrency limit
 * and releases it when the call is done, and hands the call's decision to
 * `@RateLimitInfo` outside HTTP. On HTTP, a TooManyRequestsException the app's own code throws
 * (a handler using RateLimitService, say) leaves with its `Retry-After` header, as the guard's
 * does. Registered by RateLimitModule as a global interceptor.
 */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const deferred = finishDeferred(context);
    const slot = takeWantedSlot(context);
    if (slot === undefined) {
      return deferred === undefined
        ? this.handle(context, next)
        : from(deferred).pipe(switchMap(() => this.handle(context, next)));
    }
    // The deferred rate limits first: a call they deny takes no slot.
    const acquired = (deferred ?? Promise.resolve()).then(() => slot(context));
    return from(acquired).pipe(
      switchMap((release) => releaseWhenDone(context, this.handle(context, next), release)),
    );
  }

  private handle(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handled = settleOnHandlerOutcome(context, handleWithDecision(context, next));
    if (context.getType() !== 'http') return handled;
    return handled.pipe(catchError((error: unknown) => this.withRetryAfter(error, context)));
  }

  private withRetryAfter(error: unknown, context: ExecutionContext): Observable<never> {
    if (error instanceof TooManyRequestsException && Number.isFinite(error.retryAfter)) {
      const seconds = retryAfterSeconds(error.retryAfter * 1000);
      const adapter = this.adapterHost.httpAdapter;
      const response: unknown = context.switchToHttp().getResponse();
      if (seconds !== undefined && !adapter.isHeadersSent(response)) {
        adapter.setHeader(response, 'Retry-After', String(seconds));
      }
    }
    return throwError(() => error);
  }
}
