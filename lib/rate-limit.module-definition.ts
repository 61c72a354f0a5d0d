import { ConfigurableModuleBuilder } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { RateLimitModuleFactoryOptions } from './options/rate-limit-module-options.interface.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RedisRequirementsCheck } from './redis-requirements.check.js';

/** Injection token of the options exactly as given to forRoot / returned by forRootAsync's factory. */
export const RATE_LIMIT_MODULE_OPTIONS = Symbol('RATE_LIMIT_MODULE_OPTIONS');

export const {
  ConfigurableModuleClass: RateLimitConfigurableModule,
  OPTIONS_TYPE: RATE_LIMIT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: RATE_LIMIT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RateLimitModuleFactoryOptions>({
  moduleName: 'RateLimit',
  optionsInjectionToken: RATE_LIMIT_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  // `global` shapes the module (it adds APP_GUARD), so it is an extra: never a factory result.
  // The start-up check of the app's limits goes with the global guard, which judges them all.
  .setExtras({ global: true }, (definition, extras) => ({
    ...definition,
    global: true,
    providers: [
      ...(definition.providers ?? []),
      ...(extras.global
        ? [{ provide: APP_GUARD, useExisting: RateLimitGuard }, RedisRequirementsCheck]
        : []),
    ],
  }))
  .build();
