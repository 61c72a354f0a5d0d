import type { Cluster, Redis, Result } from 'ioredis';
import type { BucketRule } from '../options/resolved-limit.interface.js';
import { checkIntegerReply, defineLuaCommand, readLua } from './lua-command.js';

/** Namespaced, because the client may be the user's and carry commands of its own. */
export const TOKEN_BUCKET_REFUND_COMMAND = 'nrrlTokenBucketRefund';

const TOKEN_BUCKET_REFUND_LUA = readLua('token-bucket-refund.lua');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    nrrlTokenBucketRefund(
      numberOfKeys: number,
      ...keysAndArgs: readonly (string | number)[]
    ): Result<unknown, Context>;
  }
}

/** Registers the refund script on a client once (EVALSHA with the NOSCRIPT fallback). */
export function defineTokenBucketRefund(client: Redis | Cluster): void {
  defineLuaCommand(client, TOKEN_BUCKET_REFUND_COMMAND, TOKEN_BUCKET_REFUND_LUA);
}

/**
 * Gives `tokens[i]` back to bucket `keys[i]` (all in one slot). Resolves per bucket
 * [remaining, resetMs] after the refund, checked at runtime.
 */
export async function runTokenBucketRefund(
  client: Redis | Cluster,
  keys: readonly string[],
  rules: readonly BucketRule[],
  tokens: readonly number[],
): Promise<number[]> {
  const args: (string | number)[] = [...keys];
  for (let i = 0; i < rules.length; i++) {
    args.push(rules[i]!.capacity, rules[i]!.usPerToken, tokens[i]!);
  }
  const reply: unknown = await client.nrrlTokenBucketRefund(keys.length, ...args);
  return checkIntegerReply(TOKEN_BUCKET_REFUND_COMMAND, reply, keys.length * 2);
}
