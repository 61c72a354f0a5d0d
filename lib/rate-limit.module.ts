import { type DynamicModule, Module } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import type { RateLimitModuleFactoryOptions } from './options/rate-limit-module-options.interface.js';
import { resolveModuleOptions } from './options/resolve-module-options.js';
import { RESOLVED_RATE_LIMIT_OPTIONS } from './rate-limit.constants.js';
import { RateLimitEvents } from './observe/rate-limit-events.js';
import { RateLimitEngine } from './rate-limit.engine.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RateLimitInterceptor } from './rate-limit.interceptor.js';
import {
  RATE_LIMIT_MODULE_OPTIONS,
  type RATE_LIMIT_OPTIONS_TYPE,
  RateLimitConfigurableModule,
} from './rate-limit.module-definition.js';
import { RateLimitService } from './rate-limit.service.js';
import { RateLimitStore } from './stores/rate-limit-store.interface.js';
import { RateLimitThrottlerStorage } from './throttler/rate-limit-throttler.storage.js';

/**
 * Redis-backed token-bucket rate limiting. Global: RateLimitService can be injected anywhere,
 * and RateLimitGuard is registered as APP_GUARD unless `global: false`.
 *
 * @example
 * ```ts
 * RateLimitModule.forRoot({ redis: process.env.REDIS_URL, defaultLimit: { capacity: 60, refill: '60/min' } })
 * RateLimitModule.forRootAsync({ inject: [ConfigService], useFactory: (config) => ({ redis: config.get('REDIS_URL') }) })
 * ```
 * @publicApi
 */
@Module({
  // DiscoveryService, for RedisRequirementsCheck's look at the app's declared limits.
  imports: [DiscoveryModule],
  providers: [
    {
      provide: RESOLVED_RATE_LIMIT_OPTIONS,
      inject: [RATE_LIMIT_MODULE_OPTIONS],
      useFactory: (options: RateLimitModuleFactoryOptions) => resolveModuleOptions(options),
    },
    RateLimitEngine,
    {
      provide: RateLimitStore,
      inject: [RateLimitEngine],
      useFactory: (engine: RateLimitEngine) => engine.store,
    },
    {
      provide: RateLimitEvents,
      inject: [RateLimitEngine],
      useFactory: (engine: RateLimitEngine) => engine.events,
    },
    RateLimitService,
    RateLimitGuard,
    RateLimitThrottlerStorage,
    // Always: it finishes what the guard defers, however the guard is bound.
    { provide: APP_INTERCEPTOR, useClass: RateLimitInterceptor },
  ],
  exports: [
    RateLimitService,
    RateLimitGuard,
    RateLimitStore,
    RateLimitEngine,
    RateLimitEvents,
    RateLimitThrottlerStorage,
  ],
})
export class RateLimitModule extends RateLimitConfigurableModule {
  /** Options may be omitted: memory store, limits only where @RateLimit or defaultLimit says. */
  static override forRoot(options: typeof RATE_LIMIT_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
