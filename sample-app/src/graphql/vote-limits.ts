import type { ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import type { LimitOptions } from 'nest-redis-rate-limit';
import { type Plan, planOfKey } from '../api/api-keys.js';

/** What Apollo on Express puts in the resolver context: the HTTP request as `req`. */
export interface GraphQLContext {
  readonly req?: { readonly headers?: Record<string, unknown> };
}

/** The plan of the operation's `x-api-key` header, or undefined when it is missing or unknown. */
export function planOfOperation(context: GraphQLContext): Plan | undefined {
  return planOfKey(context.req?.headers?.['x-api-key']);
}

function hasKnownKey(context: ExecutionContext): boolean {
  return (
    planOfOperation(GqlExecutionContext.create(context).getContext<GraphQLContext>()) !== undefined
  );
}

/**
 * `Mutation.vote`, as `GET /api/quote`: a known key votes 3 times at once, then once every 20 s,
 * per key (whatever its plan). Without a known key the limit is per IP, so guessing keys is slow:
 * the rate-limit guard decides before the resolver refuses the key.
 */
export const VOTE_LIMITS: readonly LimitOptions[] = [
  { name: 'vote', capacity: 3, refill: '3/min', keyBy: 'apiKey', when: hasKnownKey },
  {
    name: 'no-key',
    capacity: 10,
    refill: '10/min',
    keyBy: 'ip',
    when: (context) => !hasKnownKey(context),
  },
];
