import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { decisionOf } from '../guard/call-decision.js';

const rateLimitInfo = createParamDecorator<undefined>((_data, context: ExecutionContext) =>
  decisionOf(context),
);

/**
 * The current call's `RateLimitDecision`, as a handler parameter; undefined where no limit
 * applied (no `@RateLimit` nor `defaultLimit`, `@SkipRateLimit`, every `when` false). A decision
 * the failure strategy made while the store failed is given too (see its `source`).
 * Works on HTTP routes, GraphQL resolvers, WebSocket gateways and microservice handlers; outside
 * HTTP it needs RateLimitInterceptor, which RateLimitModule registers globally (GraphQL field
 * resolvers: `fieldResolverEnhancers: ['guards', 'interceptors']`).
 *
 * @example
 * ```ts
 * @RateLimit({ capacity: 100, refill: '100/min' })
 * @Get('search')
 * search(@RateLimitInfo() rateLimit: RateLimitDecision | undefined) {
 *   return { results: [], tokensLeft: rateLimit?.remaining };
 * }
 * ```
 * @publicApi
 */
export function RateLimitInfo(): ParameterDecorator {
  return rateLimitInfo();
}
