import { readFileSync } from 'node:fs';
import type { Cluster, Redis, Result } from 'ioredis';
import type { BucketRule } from '../options/resolved-limit.interface.js';

/** Namespaced, because the client may be the user's and carry commands of its own. */
export const TOKEN_BUCKET_REFUND_COMMAND = 'nrrlTokenBucketRefund';

const TOKEN_BUCKET_REFUND_LUA = readFileSync(
  new URL('./token-bucket-refund.lua', import.meta.url),
  'utf8',
);

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
  if (typeof (client as Partial<Redis>)[TOKEN_BUCKET_REFUND_COMMAND] !== 'function') {
    client.defineCommand(TOKEN_BUCKET_REFUND_COMMAND, { lua: TOKEN_BUCKET_REFUND_LUA });
  }
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
  if (
    !Array.isArray(reply) ||
    reply.length !== keys.length * 2 ||
    !reply.every((value) => typeof value === 'number' && Number.isInteger(value))
  ) {
    throw new TypeError(
      `${TOKEN_BUCKET_REFUND_COMMAND} replied ${JSON.stringify(reply)}; expected ${keys.length * 2} integers`,
    );
  }
  return reply as number[];
}
