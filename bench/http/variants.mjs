// The HTTP variants: one Nest app (GET / answering 'ok'), differing only in the adapter and the
// guard in front of the route. Each runs in its own process (bench/http/server.mjs).
//
// Identity: every guard keys on the `x-client-id` header, which the load generator varies over
// CLIENT_IDS values. Loopback traffic has a single IP (one hot key), and the library's
// `keyBy: 'apiKey'` would add a SHA-256 the peers do not pay; a plain header read is the same
// cheap lookup in every guard. Limits are huge, so nearly every request is allowed.

import { loadLibrary } from '../lib/library.mjs';
import { compareVariant, variantOptions, variantRouteLimits } from '../lib/compare-variants.mjs';

export const CLIENT_IDS = 10_000;
export const CLIENT_HEADER = 'x-client-id';
const CAPACITY = 1_000_000_000;
const HOUR_MS = 3_600_000;

/** id -> { name, adapter, guard, peer? }. `peer` marks the other libraries' guards. */
export const VARIANTS = [
  { id: 'express-bare', name: 'Express, no guard', adapter: 'express', guard: 'none' },
  {
    id: 'express-library',
    name: 'Express, nest-redis-rate-limit (1 limit)',
    adapter: 'express',
    guard: 'library',
  },
  {
    id: 'express-library-two',
    name: 'Express, nest-redis-rate-limit (2 limits)',
    adapter: 'express',
    guard: 'library-two',
  },
  {
    id: 'express-throttler',
    name: 'Express, @nestjs/throttler + @nest-lab/throttler-storage-redis',
    adapter: 'express',
    guard: 'throttler',
    peer: true,
  },
  {
    id: 'express-rlf',
    name: 'Express, guard calling rate-limiter-flexible RateLimiterRedis',
    adapter: 'express',
    guard: 'rlf',
    peer: true,
  },
  {
    id: 'express-ceiling',
    name: 'Express, minimal guard: raw ioredis EVALSHA of the ceiling script',
    adapter: 'express',
    guard: 'ceiling',
  },
  { id: 'fastify-bare', name: 'Fastify, no guard', adapter: 'fastify', guard: 'none' },
  {
    id: 'fastify-library',
    name: 'Fastify, nest-redis-rate-limit (1 limit)',
    adapter: 'fastify',
    guard: 'library',
  },
];

/** The bare variant each one is compared with: the same adapter, no guard. */
export const bareOf = (variant) => `${variant.adapter}-bare`;

const clientId = (request) => request.headers[CLIENT_HEADER];

/**
 * Imports for the route and the module for one guard; `redisUrl` is the bench's redis-server.
 * Returns { imports, providers, limits, lib } where `limits` goes on the handler via lib's
 * @RateLimit. For the library's guards, `library` may name the build to load (`dist`, a directory;
 * default dist/), a `keyPrefix` (builds compared side by side keep their buckets apart) and a
 * `variant` of bench/lib/compare-variants.mjs (module options, limits) applied on top.
 */
export async function guardSetup(guard, redisUrl, library = {}) {
  switch (guard) {
    case 'none':
      return { imports: [], providers: [] };
    case 'library':
    case 'library-two': {
      const lib = await loadLibrary(library.dist);
      const variant = library.variant ? compareVariant(library.variant) : undefined;
      const refill = { tokens: CAPACITY, intervalMs: HOUR_MS };
      const limits =
        guard === 'library'
          ? [{ capacity: CAPACITY, refill }]
          : [
              { name: 'burst', capacity: CAPACITY, refill },
              { name: 'hourly', capacity: CAPACITY, refill },
            ];
      const keyBy = (context) => clientId(context.switchToHttp().getRequest());
      // The default 100 ms store timeout fires on a loaded 2-core machine: the circuit breaker
      // then opens and requests pass without Redis (0.32 round trips/request in one quick run),
      // a cheaper path than the peers', which always wait. Every request is decided in Redis here.
      const timeoutMs = 10_000;
      const options = {
        redis: redisUrl,
        keyBy,
        timeoutMs,
        ...(library.keyPrefix ? { keyPrefix: library.keyPrefix } : {}),
        ...variantOptions(variant, lib),
      };
      return {
        imports: [lib.RateLimitModule.forRoot(options)],
        providers: [],
        // A compare variant with limits of its own derives them from the one base limit.
        limits:
          variant?.limits || variant?.routeLimits
            ? variantRouteLimits(variant, { capacity: CAPACITY, refill })
            : limits,
        lib,
      };
    }
    case 'throttler': {
      const { APP_GUARD } = await import('@nestjs/core');
      const { ThrottlerGuard, ThrottlerModule } = await import('@nestjs/throttler');
      const { ThrottlerStorageRedisService } = await import('@nest-lab/throttler-storage-redis');
      const { Redis } = await import('ioredis');
      return {
        imports: [
          ThrottlerModule.forRoot({
            throttlers: [{ ttl: HOUR_MS, limit: CAPACITY }],
            storage: new ThrottlerStorageRedisService(new Redis(redisUrl)),
            getTracker: clientId,
          }),
        ],
        providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
      };
    }
    case 'rlf':
      return rlfSetup(redisUrl);
    case 'ceiling':
      return ceilingSetup(redisUrl);
    default:
      throw new Error(`unknown guard ${guard}`);
  }
}

// rate-limiter-flexible ships no Nest guard: this is the few lines a user would write.
async function rlfSetup(redisUrl) {
  const { APP_GUARD } = await import('@nestjs/core');
  const { HttpException, HttpStatus, Injectable } = await import('@nestjs/common');
  const { RateLimiterRedis } = (await import('rate-limiter-flexible')).default;
  const { Redis } = await import('ioredis');
  const limiter = new RateLimiterRedis({
    storeClient: new Redis(redisUrl),
    keyPrefix: 'rlf',
    points: CAPACITY,
    duration: HOUR_MS / 1000,
  });
  class RlfGuard {
    canActivate(context) {
      return limiter.consume(clientId(context.switchToHttp().getRequest())).then(
        () => true,
        (rejection) => {
          if (rejection instanceof Error) throw rejection;
          throw new HttpException('Too Many Requests', HttpStatus.TOO_MANY_REQUESTS);
        },
      );
    }
  }
  Injectable()(RlfGuard);
  return { imports: [], providers: [{ provide: APP_GUARD, useClass: RlfGuard }] };
}

// The floor of any Redis-backed guard: one EVALSHA of bench/lib/ceiling.lua per request and
// nothing else (no headers, no options), as the decision benchmark's ceiling.
async function ceilingSetup(redisUrl) {
  const { APP_GUARD } = await import('@nestjs/core');
  const { HttpException, HttpStatus, Injectable } = await import('@nestjs/common');
  const { readFileSync } = await import('node:fs');
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl);
  const lua = readFileSync(new URL('../lib/ceiling.lua', import.meta.url), 'utf8');
  redis.defineCommand('benchCeiling', { numberOfKeys: 1, lua });
  const msPerToken = HOUR_MS / CAPACITY;
  class CeilingGuard {
    canActivate(context) {
      const key = `ceil:${clientId(context.switchToHttp().getRequest())}`;
      return redis.benchCeiling(key, CAPACITY, msPerToken).then((allowed) => {
        if (allowed === 1) return true;
        throw new HttpException('Too Many Requests', HttpStatus.TOO_MANY_REQUESTS);
      });
    }
  }
  Injectable()(CeilingGuard);
  return { imports: [], providers: [{ provide: APP_GUARD, useClass: CeilingGuard }] };
}
