import { type DynamicModule, Module } from '@nestjs/common';
import { RateLimitModule, type RateLimitModuleOptions } from 'nest-redis-rate-limit';
import { ApiController } from './api/api.controller.js';
import { AuthController } from './auth/auth.controller.js';
import { EventsController } from './events/events.controller.js';
import { HealthController } from './health/health.controller.js';
import { PublicController } from './public/public.controller.js';
import { SearchController } from './search/search.controller.js';

/** What the sample app takes from its environment (or from a test). */
export type SampleAppSettings = Pick<
  RateLimitModuleOptions,
  'redis' | 'keyPrefix' | 'timeoutMs' | 'memoryStoreMaxKeys' | 'denyCache'
>;

@Module({})
export class AppModule {
  /** Without `redis`, limits live in this process's memory. */
  static register(settings: SampleAppSettings = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [RateLimitModule.forRoot({ failureStrategy: 'open', ...settings })],
      controllers: [
        PublicController,
        ApiController,
        AuthController,
        HealthController,
        SearchController,
        EventsController,
      ],
    };
  }
}
