import { Module } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule } from '@nestjs/graphql';
import { QuotesResolver } from './quotes.resolver.js';
import { QuotesService } from './quotes.service.js';

/**
 * `POST /graphql`, Apollo Server on Express (through @as-integrations/express5). The schema is
 * built from the decorators in memory (`autoSchemaFile: true`: no file is written).
 * `fieldResolverEnhancers: ['guards']` lets the global rate-limit guard see field resolvers, so
 * `Quote.explanation` can have a limit of its own; root fields reach guards without it.
 */
@Module({
  imports: [
    GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      autoSchemaFile: true,
      fieldResolverEnhancers: ['guards'],
      // Errors carry their code and retryAfter, not the server's stack trace.
      includeStacktraceInErrorResponses: false,
    }),
  ],
  providers: [QuotesResolver, QuotesService],
})
export class QuotesGraphQLModule {}
