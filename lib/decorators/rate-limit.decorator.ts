import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import type { LimitOptions } from '../options/limit-options.interface.js';
import { resolveLimits } from '../options/resolve-limits.js';
import { describeTarget } from './describe-target.js';
import { LimitsMetadata } from './rate-limit-metadata.js';

/**
 * Applies one or several token-bucket limits to a controller or a handler; the handler's
 * limits replace the controller's. A request passes only if every limit holds its cost, and
 * then pays it to each. Invalid limits throw RateLimitConfigError when the class is loaded,
 * naming the controller and handler, so the app refuses to start.
 *
 * @example
 * ```ts
 * @RateLimit([
 *   { name: 'burst', capacity: 10, refill: '10/s' },
 *   { name: 'daily', capacity: 1000, refill: '1000/day' },
 * ])
 * @Get()
 * list() {}
 * ```
 * @publicApi
 */
export function RateLimit(
  limit: LimitOptions | readonly LimitOptions[],
): ClassDecorator & MethodDecorator {
  return (target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    const where = `@RateLimit on ${describeTarget(target, propertyKey)}`;
    if (limit === undefined) {
      throw new RateLimitConfigError(where, ['a limit or a list of limits is required']);
    }
    const limits = resolveLimits(limit, where);
    LimitsMetadata(limits)(target, propertyKey!, descriptor!);
  };
}
