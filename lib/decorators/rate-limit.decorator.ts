import { Reflector } from '@nestjs/core';
import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import type { LimitOptions } from '../options/limit-options.interface.js';
import { resolveLimits } from '../options/resolve-limits.js';
import type { ResolvedLimit } from '../options/resolved-limit.interface.js';

/** Limits of a class or handler, already resolved by @RateLimit. */
export const LimitsMetadata = Reflector.createDecorator<readonly ResolvedLimit[]>();

/** Set by @SkipRateLimit. */
export const SkipMetadata = Reflector.createDecorator<boolean>();

/**
 * Applies one or several limits (token bucket by default, or windows) to a controller or a
 * handler; the handler's
 * limits replace the controller's. A request passes only if every limit holds its cost, and
 * then pays it to each. Several `@RateLimit` on one target add up, as if given as one array
 * (their names must differ). Invalid limits throw RateLimitConfigError when the class is
 * loaded, naming the controller and handler, so the app refuses to start.
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
    const mine = resolveLimits(limit, where);
    // Decorators apply bottom-up: one applied earlier sits below this one in the source.
    const holder = (descriptor?.value as object | undefined) ?? target;
    const below = Reflect.getOwnMetadata(LimitsMetadata.KEY, holder) as
      readonly ResolvedLimit[] | undefined;
    const limits = below === undefined ? mine : combine(where, mine, below);
    LimitsMetadata(limits)(target, propertyKey!, descriptor!);
  };
}

function combine(
  where: string,
  above: readonly ResolvedLimit[],
  below: readonly ResolvedLimit[],
): readonly ResolvedLimit[] {
  const names = new Set(below.map((limit) => limit.name));
  const clashes = above.filter((limit) => names.has(limit.name)).map((limit) => limit.name);
  if (clashes.length > 0) {
    throw new RateLimitConfigError(
      where,
      clashes.map(
        (name) =>
          `name '${name}' is used by two stacked @RateLimit decorators; give each limit its own name`,
      ),
    );
  }
  return Object.freeze([...above, ...below]);
}

/** `CatsController.create` for a method, `CatsController` for a class: where a decorator sits. */
export function describeTarget(target: object, propertyKey?: string | symbol): string {
  const className =
    typeof target === 'function' ? target.name : (target.constructor as { name: string }).name;
  return propertyKey === undefined ? className : `${className}.${String(propertyKey)}`;
}
