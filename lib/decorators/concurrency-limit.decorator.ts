import { Reflector } from '@nestjs/core';
import {
  type ResolvedConcurrencyLimit,
  resolveConcurrencyLimit,
} from '../concurrency/resolve-concurrency-limit.js';
import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import type { ConcurrencyLimitOptions } from '../options/concurrency-limit-options.interface.js';
import { describeTarget } from './rate-limit.decorator.js';

/** The concurrency limit of a class or handler, already resolved by @ConcurrencyLimit. */
export const ConcurrencyMetadata = Reflector.createDecorator<ResolvedConcurrencyLimit>();

/**
 * Limits the requests of one identity in flight at once on a controller or a handler (the
 * handler's limit replaces the controller's): see ConcurrencyLimitOptions. Works beside
 * `@RateLimit`: a request must pass both, a request the rate limits deny takes no slot, and a
 * request refused for want of a slot gets its rate charge back. Enforced by RateLimitGuard,
 * wherever it runs (global by default). `@SkipRateLimit()` skips it too. An invalid limit
 * throws RateLimitConfigError when the class is loaded, naming the controller and handler.
 *
 * @example
 * ```ts
 * @ConcurrencyLimit({ max: 2, keyBy: 'user' })
 * @RateLimit({ capacity: 10, refill: '10/min', keyBy: 'user' })
 * @Post('exports')
 * export() {}
 * ```
 * @publicApi
 */
export function ConcurrencyLimit(
  options: ConcurrencyLimitOptions,
): ClassDecorator & MethodDecorator {
  return (target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    const where = `@ConcurrencyLimit on ${describeTarget(target, propertyKey)}`;
    const holder = (descriptor?.value as object | undefined) ?? target;
    if (Reflect.getOwnMetadata(ConcurrencyMetadata.KEY, holder) !== undefined) {
      throw new RateLimitConfigError(where, [
        'only one @ConcurrencyLimit per controller or handler; use one limit with the smallest max',
      ]);
    }
    ConcurrencyMetadata(resolveConcurrencyLimit(options, where))(target, propertyKey!, descriptor!);
  };
}
