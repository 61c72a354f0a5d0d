import { readFileSync } from 'node:fs';
import type { Cluster, Redis, Result } from 'ioredis';
import type { BucketRule } from '../options/resolved-limit.interface.js';

/** Namespaced, because the client may be the user's and carry commands of its own. */
export const TOKEN_BUCKET_COMMAND = 'nrrlTokenBucket';

const TOKEN_BUCKET_LUA = readFileSync(new URL('./token-bucket.lua', import.meta.url), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    nrrlTokenBucket(
      numberOfKeys: number,
      ...keysAndArgs: readonly (string | number)[]
    ): Result<unknown, Context>;
  }
}

/**
 * Registers the script on a client once. ioredis then sends EVALSHA, falls back to EVAL on the
 * first call of each connection and on NOSCRIPT (after a restart or SCRIPT FLUSH), on Redis and
 * Cluster alike. No numberOfKeys: the key count varies with the number of limits.
 */
export function defineTokenBucket(client: Redis | Cluster): void {
  if (typeof (client as Partial<Redis>)[TOKEN_BUCKET_COMMAND] !== 'function') {
    client.defineCommand(TOKEN_BUCKET_COMMAND, { lua: TOKEN_BUCKET_LUA });
  }
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
  const args: (string | number)[] = [...keys, consume ? '1' : '0'];
  for (let i = 0; i < rules.length; i++) {
    args.push(rules[i]!.capacity, rules[i]!.usPerToken, costs[i]!);
  }
  return client
    .nrrlTokenBucket(keys.length, ...args)
    .then((reply: unknown) => checkReply(reply, keys.length));
}

function checkReply(reply: unknown, bucketCount: number): number[] {
  if (
    !Array.isArray(reply) ||
    reply.length !== bucketCount * 3 ||
    !reply.every((value) => typeof value === 'number' && Number.isInteger(value))
  ) {
    throw new TypeError(
      `${TOKEN_BUCKET_COMMAND} replied ${JSON.stringify(reply)}; expected ${bucketCount * 3} integers`,
    );
  }
  return reply as number[];
}
