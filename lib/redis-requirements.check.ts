import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { Algorithm } from './algorithms/algorithm.interface.js';
import { type DeclaredLimit, declaredLimits } from './decorators/declared-limits.js';
import { RateLimitConfigError } from './errors/rate-limit-config.error.js';
import { RATE_LIMIT_LOG_CONTEXT } from './rate-limit.constants.js';
import { RateLimitEngine } from './rate-limit.engine.js';

/** Places named per algorithm in the error; the rest are counted. */
const PLACES_SHOWN = 5;

/**
 * Refuses to start an app whose declared limits (@RateLimit on its controllers, resolvers and
 * gateways, and the module's defaultLimit) use an algorithm the store's Redis is too old for
 * (a fixed window needs PEXPIRETIME, Redis 7.0): without it, every request of those routes would
 * fail with a 500 until someone noticed. It asks Redis with COMMAND INFO, once all modules have
 * started and the store has had its wait for a connection. When Redis cannot be asked then
 * (unreachable, COMMAND refused), it says so and the app starts: such decisions still fail, one
 * by one, with a RateLimitConfigError. Registered with the global guard (`global: true`): with
 * `global: false`, other RateLimitModules may guard some of the routes.
 */
@Injectable()
export class RedisRequirementsCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger(RATE_LIMIT_LOG_CONTEXT);

  constructor(
    private readonly engine: RateLimitEngine,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { store, options } = this.engine;
    if (store.missingCommands === undefined) return;
    const declared: DeclaredLimit[] = [
      ...(options.defaultLimits ?? []).map((limit) => ({ where: 'defaultLimit', limit })),
      ...declaredLimits(this.discovery, this.scanner),
    ];
    const users = usersByAlgorithm(declared);
    if (users.size === 0) return;
    const commands = [...new Set([...users.keys()].flatMap((it) => it.newerCommands ?? []))];
    let missing: readonly string[];
    try {
      missing = await store.missingCommands(commands);
    } catch (error) {
      this.logger.warn(
        `Could not ask Redis at start-up whether it has ${commands.join(', ')}: ${String(error)}. ` +
          'Limits that need them fail with RateLimitConfigError if it does not.',
      );
      return;
    }
    const problems = [...users].flatMap(([algorithm, places]) => {
      const lacking = (algorithm.newerCommands ?? []).filter((name) => missing.includes(name));
      if (lacking.length === 0) return [];
      return [
        `algorithm '${algorithm.name}' needs Redis ${algorithm.minRedisVersion ?? 'newer'} or ` +
          `later (this server lacks ${lacking.join(', ')}); used by ${listed(places)}`,
      ];
    });
    if (problems.length > 0) throw new RateLimitConfigError('Redis', problems);
  }
}

/** The places that use each algorithm with commands older servers lack: `Where ('name')`. */
function usersByAlgorithm(declared: readonly DeclaredLimit[]): Map<Algorithm, Set<string>> {
  const users = new Map<Algorithm, Set<string>>();
  for (const { where, limit } of declared) {
    if (limit.algorithm.newerCommands === undefined) continue;
    const places = users.get(limit.algorithm) ?? new Set<string>();
    places.add(`${where} ('${limit.name}')`);
    users.set(limit.algorithm, places);
  }
  return users;
}

function listed(places: ReadonlySet<string>): string {
  const shown = [...places].slice(0, PLACES_SHOWN).join(', ');
  const more = places.size - PLACES_SHOWN;
  return more > 0 ? `${shown} and ${more} more` : shown;
}
