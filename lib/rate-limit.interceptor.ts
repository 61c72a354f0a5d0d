import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { finishDeferred } from './rate-limit.guard.js';

/**
 * Runs after every guard of a call, before its handler: finishes the limits RateLimitGuard
 * deferred because they are keyed by a user that the app's own guards had not attached yet
 * (global guards run before controller guards). Registered by RateLimitModule as a global
 * interceptor; a call with nothing deferred costs one WeakMap lookup.
 */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    await finishDeferred(context);
    return next.handle();
  }
}
