import type { TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { type RateLimitModuleOptions, RateLimitService } from 'nest-redis-rate-limit';
import { useRateLimitModules } from './rate-limit-modules.js';
import { type RedisServerProcess, startRedisServer } from './redis-process.mjs';

export interface RedisServices {
  /** A module on this suite's redis-server, own key prefix unless given; closed after each test. */
  readonly module: (options?: RateLimitModuleOptions) => Promise<TestingModule>;
  readonly service: (options?: RateLimitModuleOptions) => Promise<RateLimitService>;
  /** Script calls (EVALSHA + EVAL) Redis has counted so far: round trips of the limiter. */
  readonly scriptCalls: () => Promise<number>;
  /** This suite's redis-server, for a store or client of the test's own. */
  readonly url: () => string;
  /** A client on it for the test's own commands (closed after the suite). */
  readonly admin: () => Redis;
}

/**
 * One redis-server per describe block (started with `serverArgs`), and RateLimitModules on it;
 * registers the jest hooks.
 */
export function useRedisServices({
  serverArgs = [],
}: { serverArgs?: string[] } = {}): RedisServices {
  let server: RedisServerProcess;
  let admin: Redis;
  const createModule = useRateLimitModules();

  beforeAll(async () => {
    server = await startRedisServer({ args: serverArgs });
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });
  const module = (options: RateLimitModuleOptions = {}): Promise<TestingModule> =>
    createModule({ redis: server.url, ...options });

  return {
    module,
    service: async (options) => (await module(options)).get(RateLimitService),
    url: () => server.url,
    admin: () => admin,
    scriptCalls: async () => {
      const stats = await admin.info('commandstats');
      let calls = 0;
      for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) {
        calls += Number(match[1]);
      }
      return calls;
    },
  };
}
