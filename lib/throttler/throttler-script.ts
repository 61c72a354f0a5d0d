import type { Cluster, Redis } from 'ioredis';
import { callLua, defineLuaCommand, readLua } from '../algorithms/lua-command.js';
import { toBucketIdentity } from '../keys/bucket-identity.js';
import { bucketKey, bucketKeyHead } from '../keys/bucket-key.js';
import type { RateLimitThrottlerRecord, ThrottlerHit } from './throttler-records.js';

/** Namespaced, because the client may be the user's and carry commands of its own. */
const THROTTLER_COMMAND = 'nrrlThrottlerHit';

const THROTTLER_LUA = readLua('../throttler/throttler-hit.lua');

/** Registers the script on a client once (EVALSHA with the NOSCRIPT fallback). */
export function defineThrottlerScript(client: Redis | Cluster): void {
  defineLuaCommand(client, THROTTLER_COMMAND, THROTTLER_LUA);
}

/**
 * The record of a throttler key. The throttler key is the hash tag, made key-safe like any
 * identity; the scope starts with '@', which no `@RateLimit` scope written for a route is likely to.
 */
export function throttlerKey(keyPrefix: string, key: string): string {
  return bucketKey(bucketKeyHead(keyPrefix, '@throttler', 'record'), toBucketIdentity(key));
}

/** Runs throttler-hit.lua for one call; the only code that knows its arguments and reply. */
export function runThrottlerScript(
  client: Redis | Cluster,
  key: string,
  hit: ThrottlerHit,
): Promise<RateLimitThrottlerRecord> {
  // Inside the record, with an 8-bit length: a name that is not plain is hashed like an identity.
  const name = toBucketIdentity(hit.throttlerName);
  return callLua(client, THROTTLER_COMMAND, 1, [
    key,
    name,
    hit.ttlMs,
    hit.limit,
    hit.blockDurationMs,
  ]).then(decodeReply);
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
