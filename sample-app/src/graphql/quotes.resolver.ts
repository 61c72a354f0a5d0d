import { UnauthorizedException } from '@nestjs/common';
import {
  Args,
  Context,
  ID,
  Mutation,
  Parent,
  Query,
  ResolveField,
  Resolver,
} from '@nestjs/graphql';
import { RateLimit } from 'nest-redis-rate-limit';
import { Quote } from './quote.model.js';
import { QuotesService } from './quotes.service.js';
import { type GraphQLContext, planOfOperation, VOTE_LIMITS } from './vote-limits.js';

/**
 * The GraphQL face of the sample. Each root field is one request to the rate-limit guard, as a
 * route is; a denied field resolves to null with a `TOO_MANY_REQUESTS` error (retryAfter in
 * whole seconds), the other fields of the operation still resolve.
 */
@Resolver(() => Quote)
export class QuotesResolver {
  constructor(private readonly quotes: QuotesService) {}

  /** Per IP, as `GET /public`: 5 at once, one more every 12 s. */
  @RateLimit({ name: 'quote', capacity: 5, refill: '5/min', keyBy: 'ip' })
  @Query(() => Quote, { nullable: true })
  quote(@Args('id', { type: () => ID, defaultValue: '1' }) id: string): Quote | null {
    return this.quotes.find(id) ?? null;
  }

  /**
   * Per key for a known `x-api-key`, else per IP (`VOTE_LIMITS`); needs a known key. Apollo's
   * driver turns the 401 into a GraphQL error with `extensions.code: 'UNAUTHENTICATED'`.
   */
  @RateLimit(VOTE_LIMITS)
  @Mutation(() => Quote, { nullable: true })
  vote(
    @Args('id', { type: () => ID }) id: string,
    @Context() context: GraphQLContext,
  ): Quote | null {
    if (planOfOperation(context) === undefined) {
      throw new UnauthorizedException('Unknown or missing x-api-key');
    }
    return this.quotes.vote(id) ?? null;
  }

  /**
   * A field resolver with its own, stricter limit: 2 at once, one more every 30 s, per IP.
   * It is charged once per quote it resolves; a denied one is null with its own error.
   */
  @RateLimit({ name: 'explain', capacity: 2, refill: '2/min', keyBy: 'ip' })
  @ResolveField(() => String, { nullable: true })
  explanation(@Parent() quote: Quote): string {
    return this.quotes.explain(quote);
  }
}
