import type { Cluster, Redis } from 'ioredis';
import { blockKey, identityOf } from '../keys/bucket-key.js';
import type { BucketRequest, BucketResult } from './algorithm.interface.js';
import { ALGORITHMS } from './index.js';
import { callLua, defineLuaCommand, readLua } from './lua-command.js';

/** Namespaced, because the client may be the user's and carry commands of its own. */
const BUCKET_COMMAND = 'nrrlBuckets';

/** One script for every algorithm, so a request mixing them is still one atomic call. */
export const BUCKET_LUA = [
  'local ALGORITHMS = {}',
  ...Object.values(ALGORITHMS).map((algorithm) => algorithm.lua),
  readLua('bucket-script.lua'),
].join('\n');

/** What the script does with the buckets: see bucket-script.lua. */
type ScriptMode = 'peek' | 'consume' | 'lease' | 'refund';

const MODE_ARG: Readonly<Record<ScriptMode, string>> = {
  peek: '0',
  consume: '1',
  lease: '2',
  refund: '3',
};

/** Registers the script on a client once (EVALSHA with the NOSCRIPT fallback). */
export function defineBucketScript(client: Redis | Cluster): void {
  defineLuaCommand(client, BUCKET_COMMAND, BUCKET_LUA);
}

/**
 * Runs the script over buckets that share a Cluster slot: the only code that knows its argument
 * order and reply layout. The reply is checked and decoded here, once, into one result per
 * request, in the requests' order. With a `blockPrefix`, each bucket's block (keys/bucket-key.ts)
 * is read in the same call (not for a refund).
 */
export function runBucketScript(
  client: Redis | Cluster,
  requests: readonly BucketRequest[],
  mode: ScriptMode,
  blockPrefix?: string,
): Promise<BucketResult[]> {
  const leasing = mode === 'lease';
  const blocks = blockPrefix !== undefined && mode !== 'refund';
  const args: (string | number)[] = [];
  for (const request of requests) args.push(request.key);
  if (blocks) for (const { key } of requests) args.push(blockKey(blockPrefix, identityOf(key)));
  args.push(MODE_ARG[mode]);
  for (const { rule, cost, extra } of requests) {
    args.push(rule.algorithm.code, rule.capacity, rule.algorithm.scriptParam(rule), cost);
    if (leasing) args.push(extra ?? 0);
  }
  return callLua(client, BUCKET_COMMAND, blocks ? 2 * requests.length : requests.length, args).then(
    (reply: unknown) => decodeReply(reply, requests, leasing, blocks),
  );
}

/** The script's reply as results, or a TypeError naming the command. */
function decodeReply(
  reply: unknown,
  requests: readonly BucketRequest[],
  leasing: boolean,
  blocks: boolean,
): BucketResult[] {
  const width = (leasing ? 4 : 3) + (blocks ? 1 : 0);
  if (
    !Array.isArray(reply) ||
    reply.length !== requests.length * width ||
    !reply.every((value) => Number.isInteger(value))
  ) {
    throw new TypeError(
      `${BUCKET_COMMAND} replied ${JSON.stringify(reply)}; expected ${requests.length * width} integers`,
    );
  }
  const integers = reply as readonly number[];
  return requests.map((request, i) => {
    const at = i * width;
    const result = {
      limit: request.rule.capacity,
      remaining: integers[at] ?? 0,
      resetMs: integers[at + 1] ?? 0,
      retryAfterMs: integers[at + 2] ?? 0,
      granted: leasing ? (integers[at + 3] ?? 0) : 0,
    };
    const blockedMs = blocks ? (integers[at + width - 1] ?? 0) : 0;
    return blockedMs > 0 ? { ...result, blockedMs } : result;
  });
}
