import type { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { ResolvedLimit } from '../options/resolved-limit.interface.js';
import { describeTarget, LimitsMetadata } from './rate-limit.decorator.js';

/** A limit @RateLimit declares, and where: `CatsController` or `CatsController.create`. */
export interface DeclaredLimit {
  readonly where: string;
  readonly limit: ResolvedLimit;
}

/**
 * Every limit @RateLimit declares on the app's controllers and providers (GraphQL resolvers and
 * WebSocket gateways are providers), on classes and on their methods; each class once, however
 * many modules list it. Limits a handler works out at run time (RateLimitService calls) are not
 * declared, so not here.
 */
export function declaredLimits(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
): DeclaredLimit[] {
  const classes = new Set<object>();
  for (const wrapper of [...discovery.getControllers(), ...discovery.getProviders()]) {
    const { metatype } = wrapper;
    if (typeof metatype === 'function' && metatype.prototype !== undefined) classes.add(metatype);
  }
  const found: DeclaredLimit[] = [];
  const collect = (holder: object, where: string): void => {
    // As the guard's Reflector reads it: a class also has the limits of the class it extends.
    const limits = Reflect.getMetadata(LimitsMetadata.KEY, holder) as
      readonly ResolvedLimit[] | undefined;
    for (const limit of limits ?? []) found.push({ where, limit });
  };
  for (const type of classes) {
    collect(type, describeTarget(type));
    const prototype = (type as { prototype: Record<string, unknown> }).prototype;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const method = prototype[name];
      if (typeof method === 'function') collect(method, describeTarget(prototype, name));
    }
  }
  return found;
}
