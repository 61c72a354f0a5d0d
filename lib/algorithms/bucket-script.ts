import type { Cluster, Redis } from 'ioredis';
import { blockKey, identityOf } from '../keys/bucket-key.js';
import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
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

/** One decision's question to the script. */
export interface ScriptCall {
  readonly requests: readonly BucketRequest[];
  readonly mode: ScriptMode;
  /** Set to read each bucket's block (keys/bucket-key.ts) under this prefix; not for a refund. */
  readonly blockPrefix?: string | undefined;
}

/**
 * Runs the script over buckets that share a Cluster slot, for one decision. Rejects with the
 * error Redis raised, as for a failed call.
 */
export function runBucketScript(
  client: Redis | Cluster,
  requests: readonly BucketRequest[],
  mode: ScriptMode,
  blockPrefix?: string,
): Promise<BucketResult[]> {
  return runBucketScripts(client, [{ requests, mode, blockPrefix }]).then(([answer]) => {
    if (answer instanceof Error) throw answer;
    return answer ?? [];
  });
}

/**
 * Runs the script once for several decisions whose keys share a Cluster slot, judged one after
 * another at one instant: the only code that knows its argument order and reply layout. Answers
 * one entry per call, in order: its results (one per request, in the requests' order), or the
 * Error that judging it raised in Redis, which fails that decision alone. Rejects when the call
 * itself fails (connection, timeout, a reply of the wrong shape).
 */
export function runBucketScripts(
  client: Redis | Cluster,
  calls: readonly ScriptCall[],
): Promise<(BucketResult[] | Error)[]> {
  const keys: (string | number)[] = [];
  const args: (string | number)[] = [calls.length];
  for (const { requests, mode, blockPrefix } of calls) {
    const leasing = mode === 'lease';
    const blocks = blockPrefix !== undefined && mode !== 'refund';
    for (const request of requests) keys.push(request.key);
    if (blocks) for (const { key } of requests) keys.push(blockKey(blockPrefix, identityOf(key)));
    args.push(blocks ? 2 * requests.length : requests.length);
    args.push(1 + requests.length * (leasing ? 5 : 4), MODE_ARG[mode]);
    for (const { rule, cost, extra } of requests) {
      args.push(rule.algorithm.code, rule.capacity, rule.algorithm.scriptParam(rule), cost);
      if (leasing) args.push(extra ?? 0);
    }
  }
  const keyCount = keys.length;
  for (const arg of args) keys.push(arg);
  return callLua(client, BUCKET_COMMAND, keyCount, keys).then((reply: unknown) =>
    decodeBatch(reply, calls),
  );
}

/** The reply of a batch, split per decision; a TypeError naming the command if it is malformed. */
function decodeBatch(reply: unknown, calls: readonly ScriptCall[]): (BucketResult[] | Error)[] {
  const malformed = (): TypeError =>
    new TypeError(
      `${BUCKET_COMMAND} replied ${JSON.stringify(reply)}; expected answers to ${calls.length} decisions`,
    );
  if (!Array.isArray(reply)) throw malformed();
  const answers: (BucketResult[] | Error)[] = [];
  let at = 0;
  for (const { requests, mode, blockPrefix } of calls) {
    const length: unknown = reply[at];
    if (length === -1) {
      answers.push(decisionError(String(reply[at + 1]), requests));
      at += 2;
      continue;
    }
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw malformed();
    answers.push(
      decodeReply(
        reply.slice(at + 1, at + 1 + length),
        requests,
        mode === 'lease',
        blockPrefix !== undefined && mode !== 'refund',
      ),
    );
    at += 1 + length;
  }
  if (at !== reply.length) throw malformed();
  return answers;
}

/** How Redis (6 and 7) words a script's call of a command it does not have. */
const UNKNOWN_COMMAND = 'Unknown Redis command called from';

/**
 * The error of one decision the script could not judge. A command this Redis lacks means an
 * algorithm needs a newer server: that is no passing failure of Redis for the failure strategy
 * to ride out (failing open would leave the limit unenforced for good) but a configuration error.
 */
function decisionError(text: string, requests: readonly BucketRequest[]): Error {
  if (!text.includes(UNKNOWN_COMMAND)) return new Error(`${BUCKET_COMMAND}: ${text}`);
  const needs = [...new Set(requests.map(({ rule }) => rule.algorithm))]
    .filter(({ minRedisVersion }) => minRedisVersion !== undefined)
    .map(
      ({ name, minRedisVersion }) => `algorithm '${name}' needs Redis ${minRedisVersion} or later`,
    );
  return new RateLimitConfigError('Redis', [
    `${needs.length > 0 ? needs.join('; ') : 'a limit needs a newer Redis'}: this server lacks a command it uses (${text})`,
  ]);
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
