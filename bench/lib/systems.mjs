// Each system under test: setup(profile) -> { decide(key) -> Promise<boolean allowed>, close() }.
// profile: { capacity, perMs } — capacity tokens, one token back every perMs milliseconds. A
// window takes `capacity` per `windowMs(profile)` = capacity × perMs, the duration
// rate-limiter-flexible and @nest-lab are given: the same limit for every fixed window.
import { URL } from 'node:url';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { loadLibrary } from './library.mjs';

const require = createRequire(import.meta.url);
const { RateLimiterRedis } = require('rate-limiter-flexible');
const { ThrottlerStorageRedisService } = require('@nest-lab/throttler-storage-redis');

const CEILING_LUA = readFileSync(new URL('./ceiling.lua', import.meta.url), 'utf8');
const FIXED_WINDOW_CEILING_LUA = readFileSync(
  new URL('./ceiling-fixed-window.lua', import.meta.url),
  'utf8',
);

/** The window of a profile: as long as an empty bucket takes to refill. */
export const windowMs = (profile) => profile.capacity * profile.perMs;

async function client(url, extra = {}) {
  const redis = new Redis(url, { lazyConnect: true, ...extra });
  await redis.connect();
  return redis;
}

function ceiling(autoPipelining) {
  return async (url, profile, prefix) => {
    const redis = await client(url, { enableAutoPipelining: autoPipelining });
    redis.defineCommand('benchCeiling', { numberOfKeys: 1, lua: CEILING_LUA });
    return {
      decide: async (key) =>
        (await redis.benchCeiling(prefix + key, profile.capacity, profile.perMs)) === 1,
      close: () => redis.quit(),
    };
  };
}

/** INCR, and PEXPIRE when the INCR made the key: the least a Redis fixed window can do. */
async function fixedWindowCeiling(url, profile, prefix) {
  const redis = await client(url);
  redis.defineCommand('benchFixedWindowCeiling', {
    numberOfKeys: 1,
    lua: FIXED_WINDOW_CEILING_LUA,
  });
  const ms = windowMs(profile);
  return {
    decide: async (key) =>
      (await redis.benchFixedWindowCeiling(prefix + key, profile.capacity, ms)) === 1,
    close: () => redis.quit(),
  };
}

/** A window limit of the library: `algorithm` with capacity per windowMs(profile). */
const windowLimit = (algorithm) => (profile) => ({
  algorithm,
  capacity: profile.capacity,
  windowMs: windowMs(profile),
});

/**
 * This library through RateLimitService; `options` are module options (or a function of the
 * library's exports returning them), `limitExtra` limit options (or a function of the profile).
 * `dist`: the build to load (default: dist/); `limits(profile, base)`: what consume() is given
 * instead of `base` (one limit, or an array).
 */
export function library(options = {}, limitExtra = {}, { dist, limits } = {}) {
  return async (url, profile, prefix) => {
    const lib = await loadLibrary(dist);
    const { RateLimitModule, RateLimitService } = lib;
    const own = typeof options === 'function' ? options(lib) : options;
    class BenchModule {}
    const redis = own.redis === undefined ? url : { ...redisOptions(url), ...own.redis };
    Module({
      imports: [RateLimitModule.forRoot({ keyPrefix: prefix, global: false, ...own, redis })],
    })(BenchModule);
    return libraryWith(RateLimitService, BenchModule, profile, limitExtra, limits, prefix);
  };
}

function redisOptions(url) {
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port) };
}

async function libraryWith(RateLimitService, BenchModule, profile, limitExtra, limits, prefix) {
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  await app.init();
  const service = app.get(RateLimitService);
  const base = {
    capacity: profile.capacity,
    refill: { tokens: 1, intervalMs: profile.perMs },
    ...(typeof limitExtra === 'function' ? limitExtra(profile) : limitExtra),
  };
  const limit = limits ? limits(profile, base) : base;
  let storeErrors = 0;
  return {
    // A decision the failure strategy made (timeout, breaker open) is not a Redis decision: it
    // counts as denied, so it shows in the "allowed" column instead of inflating decisions/s.
    decide: async (key) => {
      const decision = await service.consume(key, limit);
      if (decision.storeError === undefined) return decision.allowed;
      storeErrors++;
      return false;
    },
    /** Decisions so far that the failure strategy made instead of Redis. */
    storeErrors: () => storeErrors,
    close: async () => {
      if (storeErrors > 0)
        process.stderr.write(
          `library ${prefix}: ${storeErrors} decisions by the failure strategy\n`,
        );
      await app.close();
    },
  };
}

function rlf(block) {
  return async (url, profile, prefix) => {
    const redis = await client(url);
    const durationS = Math.ceil(windowMs(profile) / 1000);
    const limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: prefix,
      points: profile.capacity,
      duration: durationS,
      ...(block
        ? { inMemoryBlockOnConsumed: profile.capacity + 1, inMemoryBlockDuration: durationS }
        : {}),
    });
    return {
      decide: (key) =>
        limiter.consume(key).then(
          () => true,
          (rejection) => {
            if (rejection instanceof Error) throw rejection;
            return false;
          },
        ),
      close: () => redis.quit(),
    };
  };
}

async function nestLab(url, profile, prefix) {
  const redis = await client(url);
  const storage = new ThrottlerStorageRedisService(redis);
  const ttl = windowMs(profile);
  return {
    decide: async (key) =>
      !(await storage.increment(prefix + key, ttl, profile.capacity, ttl, 'default')).isBlocked,
    close: () => redis.quit(),
  };
}

/**
 * RateLimitThrottlerStorage (the library's @nestjs/throttler storage) called as ThrottlerGuard
 * calls a storage, with @nest-lab's arguments: the same semantics on the caller's side.
 */
async function throttlerStorage(url, profile, prefix) {
  const lib = await loadLibrary();
  const { RateLimitModule, RateLimitThrottlerStorage } = lib;
  class BenchModule {}
  Module({
    imports: [
      // A deadline as loose as @nest-lab's (none): a stall on a busy machine would otherwise
      // open the circuit and turn a second of calls into failure-strategy answers.
      RateLimitModule.forRoot({
        keyPrefix: prefix,
        global: false,
        redis: redisOptions(url),
        timeoutMs: 2_000,
      }),
    ],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  await app.init();
  const storage = app.get(RateLimitThrottlerStorage);
  const ttl = windowMs(profile);
  let storeErrors = 0;
  return {
    // Failing open is the one answer with no hit counted: like the library's, it counts as denied.
    decide: async (key) => {
      const record = await storage.increment(key, ttl, profile.capacity, ttl, 'default');
      if (record.totalHits > 0 || record.isBlocked) return !record.isBlocked;
      storeErrors++;
      return false;
    },
    storeErrors: () => storeErrors,
    close: async () => {
      if (storeErrors > 0)
        process.stderr.write(`throttler storage: ${storeErrors} answers by the failure strategy\n`);
      await app.close();
    },
  };
}

/**
 * The report's sections: each compares its library row with its peers, as a ratio to its own
 * ceiling (the least Redis work for that algorithm). A system runs once per cell and repetition
 * whatever the number of sections it appears in; `--only=<section>` runs one section's systems.
 * `memory`: the systems of the section's Redis-memory-per-identity table.
 */
export const SECTIONS = {
  'token-bucket': {
    ceiling: 'ceiling',
    library: 'library',
    memory: ['ceiling', 'library', 'rlf', 'nestlab'],
  },
  'fixed-window': {
    ceiling: 'ceiling-fw',
    library: 'library-fw',
    peers: ['rlf', 'nestlab'],
    // the other algorithms and the throttler storage beside them, for reference
    memory: [
      'ceiling-fw',
      'library-fw',
      'rlf',
      'nestlab',
      'library',
      'library-sw',
      'throttler-storage',
    ],
  },
};

/**
 * Name shown in tables -> factory(url, profile, prefix). `deniedOnly` systems run in the denied
 * mode only, `allowedOnly` ones in the allowed mode only, and `skipsCell(cell)` ones skip the
 * cells it says; `sections`: the SECTIONS they are reported in (default: token-bucket).
 */
export const SYSTEMS = [
  { name: 'ceiling (EVALSHA, no auto-pipelining)', id: 'ceiling', setup: ceiling(false) },
  { name: 'ceiling (EVALSHA, auto-pipelining)', id: 'ceiling-ap', setup: ceiling(true) },
  {
    name: 'nest-redis-rate-limit consume()',
    id: 'library',
    setup: library(),
    sections: ['token-bucket', 'fixed-window'],
  },
  {
    name: 'nest-redis-rate-limit consume(), deny cache off',
    id: 'library-plain',
    setup: library({ denyCache: false }),
    deniedOnly: true,
  },
  {
    name: 'nest-redis-rate-limit consume(), lease 20 tokens',
    id: 'library-lease',
    // a lease never exceeds the capacity (1 token in the mostly-denied profile)
    setup: library({}, (profile) => ({
      lease: { tokens: Math.min(20, profile.capacity), ttlMs: 1000 },
    })),
  },
  {
    name: 'nest-redis-rate-limit consume(), auto-pipelining',
    id: 'library-ap',
    setup: library({ redis: { enableAutoPipelining: true } }),
    allowedOnly: true,
  },
  {
    name: 'fixed-window ceiling (INCR + PEXPIRE on the first hit, EVALSHA)',
    id: 'ceiling-fw',
    setup: fixedWindowCeiling,
    sections: ['fixed-window'],
  },
  {
    name: "nest-redis-rate-limit consume(), algorithm 'fixed-window'",
    id: 'library-fw',
    setup: library({}, {}, { limits: windowLimit('fixed-window') }),
    sections: ['fixed-window'],
  },
  {
    name: "nest-redis-rate-limit consume(), algorithm 'fixed-window', deny cache off",
    id: 'library-fw-plain',
    setup: library({ denyCache: false }, {}, { limits: windowLimit('fixed-window') }),
    deniedOnly: true,
    sections: ['fixed-window'],
  },
  {
    name: "nest-redis-rate-limit consume(), algorithm 'sliding-window'",
    id: 'library-sw',
    setup: library({}, {}, { limits: windowLimit('sliding-window') }),
    sections: ['fixed-window'],
  },
  {
    name: 'rate-limiter-flexible RateLimiterRedis',
    id: 'rlf',
    setup: rlf(false),
    sections: ['token-bucket', 'fixed-window'],
  },
  {
    name: 'rate-limiter-flexible + inMemoryBlockOnConsumed',
    id: 'rlf-block',
    setup: rlf(true),
    deniedOnly: true,
  },
  {
    name: '@nest-lab/throttler-storage-redis increment()',
    id: 'nestlab',
    setup: nestLab,
    sections: ['token-bucket', 'fixed-window'],
  },
  {
    name: 'nest-redis-rate-limit RateLimitThrottlerStorage increment()',
    id: 'throttler-storage',
    setup: throttlerStorage,
    sections: ['fixed-window'],
    // Its record logs every live hit (throttler's semantics): with 1,000,000 allowed per window
    // on one key, each call rewrites a log of all the run's calls so far (~250/s after 80,000).
    skipsCell: (cell) => cell.mode === 'allowed' && cell.keys === 1,
  },
];

/** The sections a system is reported in. */
export const sectionsOf = (system) => system.sections ?? ['token-bucket'];
