import { SkipMetadata } from './rate-limit.decorator.js';

/**
 * Exempts a controller or a handler from every limit, the module's default included.
 *
 * @example
 * ```ts
 * @SkipRateLimit()
 * @Get('health')
 * health() {}
 * ```
 * @publicApi
 */
export function SkipRateLimit(): ClassDecorator & MethodDecorator {
  return (target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    SkipMetadata(true)(target, propertyKey!, descriptor!);
  };
}
