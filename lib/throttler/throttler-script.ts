import { readFileSync } from 'node:fs';
import type { Cluster, Redis, Result } from 'ioredis';
import { defineLuaCommand } from '../algorithms/lua-command.js';
import { toBucketIdentity } from '../keys/bucket-identity.js';
import { bucketKey, bucketKeyHead } from '../keys/bucket-key.js';
import type { RateLimitThrottlerRecord, ThrottlerHit } from './throttler-records.js';

/** Namespaced, because the client may be the user's and carry commands of its own. */
const THROTTLER_COMMAND = 'nrrlThrottlerHit';

const THROTTLER_LUA = readFileSync(new URL('./throttler-hit.lua', import.meta.url), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    nrrlThrottlerHit(
      numberOfKeys: number,
      ...keysAndArgs: readonly (string | number)[]
    ): Result<unknown, Context>;
  }
}

/** Registers the script on a client once (EVALSHA with the NOSCRIPT fallback). */
export function defineThrottlerScript(client: Redis | Cluster): void {
  defineLuaCommand(client, THROTTLER_COMMAND, THROTTLER_LUA);
}

/**
 * The keys of a throttler key: its record and its hits under one throttler name. The throttler
 * key is the hash tag (made key-safe like any identity), so both share a Cluster slot; the scopes
 * start with '@', which no `@RateLimit` scope written for a route is likely to.
 */
export function throttlerKeys(keyPrefix: string, hit: ThrottlerHit): [string, string] {
  const identity = toBucketIdentity(hit.key);
  const name = toBucketIdentity(hit.throttlerName);
  return [
    bucketKey(bucketKeyHead(keyPrefix, '@throttler', 'record'), identity),
    bucketKey(bucketKeyHead(keyPrefix, '@throttler-hits', name), identity),
  ];
}

/** Runs throttler-hit.lua for one call; the only code that knows its arguments and reply. */
export function runThrottlerScript(
  client: Redis | Cluster,
  keys: readonly [string, string],
  hit: ThrottlerHit,
): Promise<RateLimitThrottlerRecord> {
  return client
    .nrrlThrottlerHit(2, ...keys, hit.ttlMs, hit.limit, hit.blockDurationMs)
    .then(decodeReply);
}

function decodeReply(reply: unknown): RateLimitThrottlerRecord {
  if (
    !Array.isArray(reply) ||
    reply.length !== 4 ||
    !reply.every((value) => Number.isInteger(value))
  ) {
    throw new TypeError(
      `${THROTTLER_COMMAND} replied ${JSON.stringify(reply)}; expected 4 integers`,
    );
  }
  const [totalHits, timeToExpire, isBlocked, timeToBlockExpire] = reply as number[];
  return {
    totalHits: totalHits!,
    timeToExpire: timeToExpire!,
    isBlocked: isBlocked === 1,
    timeToBlockExpire: timeToBlockExpire!,
  };
}
