import type { Cluster, Redis, Result } from 'ioredis';
import type { BucketRule } from '../options/resolved-limit.interface.js';
import { checkIntegerReply, defineLuaCommand, readLua } from './lua-command.js';

/** Namespaced, because the client may be the user's and carry commands of its own. */
export const TOKEN_BUCKET_COMMAND = 'nrrlTokenBucket';

const TOKEN_BUCKET_LUA = readLua('token-bucket.lua');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    nrrlTokenBucket(
      numberOfKeys: number,
      ...keysAndArgs: readonly (string | number)[]
    ): Result<unknown, Context>;
  }
}

/** Registers the script on a client once. */
export function defineTokenBucket(client: Redis | Cluster): void {
  defineLuaCommand(client, TOKEN_BUCKET_COMMAND, TOKEN_BUCKET_LUA);
}

/**
 * Runs the script: the only code that knows its argument order. Resolves the flat reply,
 * per bucket [remaining, resetMs, retryAfterMs], checked at runtime.
 */
export function runTokenBucket(
  client: Redis | Cluster,
  keys: readonly string[],
  rules: readonly BucketRule[],
  costs: readonly number[],
  consume: boolean,
): Promise<number[]> {
  return sendTokenBucket(client, keys, rules, costs, consume).then((reply) =>
    checkTokenBucketReply(reply, keys.length),
  );
}

/** `runTokenBucket` without the reply check, for callers that check inside a promise of theirs. */
export function sendTokenBucket(
  client: Redis | Cluster,
  keys: readonly string[],
  rules: readonly BucketRule[],
  costs: readonly number[],
  consume: boolean,
): Promise<unknown> {
  const args: (string | number)[] = [...keys, consume ? '1' : '0'];
  for (let i = 0; i < rules.length; i++) {
    args.push(rules[i]!.capacity, rules[i]!.usPerToken, costs[i]!);
  }
  return client.nrrlTokenBucket(keys.length, ...args);
}

/** The reply of a take over `bucketCount` buckets, or a TypeError. */
export function checkTokenBucketReply(reply: unknown, bucketCount: number): number[] {
  return checkIntegerReply(TOKEN_BUCKET_COMMAND, reply, bucketCount * 3);
}

/**
 * Consumes `costs` and, if the request passes, leases up to `extras[i]` more tokens from each
 * bucket. Resolves per bucket [remaining, resetMs, retryAfterMs, granted].
 */
export function runTokenBucketLease(
  client: Redis | Cluster,
  keys: readonly string[],
  rules: readonly BucketRule[],
  costs: readonly number[],
  extras: readonly number[],
): Promise<number[]> {
  const args: (string | number)[] = [...keys, '2'];
  for (let i = 0; i < rules.length; i++) {
    args.push(rules[i]!.capacity, rules[i]!.usPerToken, costs[i]!, extras[i]!);
  }
  return client
    .nrrlTokenBucket(keys.length, ...args)
    .then((reply: unknown) => checkIntegerReply(TOKEN_BUCKET_COMMAND, reply, keys.length * 4));
}
