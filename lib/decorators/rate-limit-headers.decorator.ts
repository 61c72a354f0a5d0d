import { Reflector } from '@nestjs/core';
import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import type { HeadersMode } from '../http/rate-limit-headers.js';
import { OptionReader } from '../options/option-reader.js';
import type { RateLimitHeadersMode } from '../options/rate-limit-module-options.interface.js';
import { parseHeadersMode } from '../options/resolve-module-options.js';
import { describeTarget } from './rate-limit.decorator.js';

/** Set by @RateLimitHeaders. */
export const HeadersMetadata = Reflector.createDecorator<HeadersMode>();

/**
 * The rate-limit headers of a controller's or a handler's responses, overriding the module's
 * `headers` (the handler's over the controller's): `true` or `'draft-10'`, `'legacy'`, `'both'`,
 * or `false`. `Retry-After` is sent on a denial whatever it says. A bad mode throws
 * RateLimitConfigError when the class is loaded.
 *
 * @example
 * ```ts
 * @RateLimitHeaders('legacy') // X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset
 * @RateLimit({ capacity: 60, refill: '60/min' })
 * @Get('v1/items')
 * list() {}
 * ```
 * @publicApi
 */
export function RateLimitHeaders(mode: RateLimitHeadersMode): ClassDecorator & MethodDecorator {
  return (target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    const read = new OptionReader();
    const resolved = parseHeadersMode('mode', mode, read);
    if (read.problems.length > 0) {
      throw new RateLimitConfigError(
        `@RateLimitHeaders on ${describeTarget(target, propertyKey)}`,
        read.problems,
      );
    }
    HeadersMetadata(resolved)(target, propertyKey!, descriptor!);
  };
}
