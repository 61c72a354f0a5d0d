import { type DynamicModule, Module } from '@nestjs/common';
import { RateLimitModule, type RateLimitModuleOptions } from 'nest-redis-rate-limit';
import { ApiController } from './api/api.controller.js';
import { AuthController } from './auth/auth.controller.js';
import { EventsController } from './events/events.controller.js';
import { EchoGateway } from './gateway/echo.gateway.js';
import { QuotesGraphQLModule } from './graphql/quotes-graphql.module.js';
import { HealthController } from './health/health.controller.js';
import { PublicController } from './public/public.controller.js';
import { ReportsController } from './reports/reports.controller.js';
import { SearchController } from './search/search.controller.js';

/** What the sample app takes from its environment (or from a test). */
export type SampleAppSettings = Pick<
  RateLimitModuleOptions,
  | 'redis'
  | 'keyPrefix'
  | 'timeoutMs'
  | 'memoryStoreMaxKeys'
  | 'denyCache'
  | 'failureStrategy'
  | 'instances'
>;

/** What the app serves besides its HTTP routes. main.ts turns both on. */
export interface SampleAppTransports {
  /** `POST /graphql` with Apollo Server, which the sample serves on Express only. */
  readonly graphql?: boolean;
  /** The socket.io gateway, namespace `/echo`. */
  readonly gateway?: boolean;
}

@Module({})
export class AppModule {
  /**
   * Without `redis`, limits live in this process's memory. Without `transports`, the HTTP routes
   * only: the module then runs on Express and on Fastify alike.
   */
  static register(
    settings: SampleAppSettings = {},
    transports: SampleAppTransports = {},
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RateLimitModule.forRoot({ failureStrategy: 'open', ...settings }),
        ...(transports.graphql === true ? [QuotesGraphQLModule] : []),
      ],
      controllers: [
        PublicController,
        ApiController,
        AuthController,
        HealthController,
        SearchController,
        EventsController,
        ReportsController,
      ],
      providers: transports.gateway === true ? [EchoGateway] : [],
    };
  }
}
