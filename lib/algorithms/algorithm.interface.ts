/** Names of the algorithms a limit may use. */
export type AlgorithmName = 'token-bucket' | 'fixed-window' | 'sliding-window';

/**
 * What a store needs to judge one bucket: the algorithm and its parameters. Immutable, resolved
 * once per limit and shared by every request of a route (a ResolvedLimit is one). Each algorithm
 * reads its own shape: a token bucket's refill rate, or a window's length.
 */
export type BucketRule = TokenBucketRule | WindowRule;

/** A token bucket: `capacity` tokens at most, one back every `usPerToken`. */
export interface TokenBucketRule {
  readonly algorithm: Algorithm;
  /** Bucket size in tokens: the largest burst. */
  readonly capacity: number;
  /** Whole microseconds for one token to return. */
  readonly usPerToken: number;
}

/** A fixed or sliding window: `capacity` tokens (requests of cost 1) per window. */
export interface WindowRule {
  readonly algorithm: Algorithm;
  /** Tokens per window. */
  readonly capacity: number;
  /** The window's length in microseconds: a whole number of milliseconds. */
  readonly windowUs: number;
}

/** One bucket of a request: which key, under which rule, at what cost. */
export interface BucketRequest {
  /** Built by keys/bucket-key.ts, the only module that knows the key format. */
  readonly key: string;
  readonly rule: BucketRule;
  /** Tokens this request takes (or, for a refund, gives back). */
  readonly cost: number;
  /** Token leasing of the bucket's limit, when every limit of the request leases. */
  readonly lease?: LeaseSettings;
  /** Whole tokens wanted on top of the cost, for this instance to spend locally (mode 'lease'). */
  readonly extra?: number;
  /**
   * The bucket's limit is in shadow mode: the engine judges it apart from the enforced limits
   * and never lets it deny. Layers and stores ignore it.
   */
  readonly shadow?: true;
}

/** Token leasing of one limit. */
export interface LeaseSettings {
  /** Tokens an instance takes from the store at once, beyond the request's own cost. */
  readonly tokens: number;
  /** How long leased tokens may be spent locally before the rest goes back to the store. */
  readonly ttlMs: number;
}

/** A store's answer for one bucket. */
export interface BucketResult {
  /** Capacity of the bucket as judged (an instance's share of it under failureStrategy 'local'). */
  readonly limit: number;
  /** Whole tokens left after this decision. */
  readonly remaining: number;
  /** Milliseconds until the bucket is full again. */
  readonly resetMs: number;
  /** 0 when this bucket alone would pass; -1 when its cost exceeds its capacity (never); else ms until it would. */
  readonly retryAfterMs: number;
  /** Leased tokens taken on top of the cost (0 unless leasing and the request passed). */
  readonly granted: number;
  /** Set when a block (RateLimitService.block) denies the bucket: milliseconds it has left. */
  readonly blockedMs?: number;
}

/** An algorithm's verdict on one bucket before the all-or-nothing step. */
export interface BucketCheck {
  readonly retryAfterMs: number;
}

/** What settling a judged bucket yields: its result and, when it changed, its new state. */
export interface Settled<State> {
  readonly result: BucketResult;
  /** Absent: nothing to write. `state: undefined`: the bucket is full again (delete it). */
  readonly write?: { readonly state: State | undefined; readonly expiresAtUs: number };
}

/**
 * One rate-limiting algorithm: its Lua (judged by Redis inside the one script of
 * algorithms/bucket-script.ts) and the same arithmetic in TypeScript for the memory store, the
 * deny cache and the local fallback. Both run in two steps, so that one request over several
 * buckets, whatever their algorithms, is all-or-nothing: `check` every bucket, then `settle`
 * each, writing only when all passed. Register an algorithm in algorithms/index.ts.
 *
 * The Lua file defines `ALGORITHMS[code] = { check, settle, refund }` with the signatures its
 * header documents; `code` is this object's. `Rule` is the shape of BucketRule it reads: the
 * resolver (options/resolve-limits.ts) gives each algorithm its own.
 */
export interface Algorithm<
  State = unknown,
  Check extends BucketCheck = BucketCheck,
  Rule extends BucketRule = BucketRule,
> {
  readonly name: AlgorithmName;
  /** Its number in the script's per-bucket arguments. */
  readonly code: number;
  /** Its Lua functions, concatenated into the bucket script. */
  readonly lua: string;
  /**
   * The oldest Redis its Lua runs on, when it needs a newer one than the other algorithms: on an
   * older server its decisions fail with a RateLimitConfigError saying so. Its `check` must reach
   * the newer command (or fail) before anything is written, so that such a decision fails whole:
   * bucket-script.lua keeps an unknown command's error to its decision, as it does a read's.
   */
  readonly minRedisVersion?: string;
  /**
   * The commands of its Lua that servers older than `minRedisVersion` lack. An app whose limits
   * use it asks Redis for them at start-up (RedisRequirementsCheck), and refuses to start when a
   * server lacks one.
   */
  readonly newerCommands?: readonly string[];
  /** The one rule parameter the script receives beside capacity. */
  scriptParam(rule: Rule): number;
  /** Judges `cost` against a bucket's state (undefined: no key, a full bucket) at `nowUs`. */
  check(state: State | undefined, rule: Rule, cost: number, nowUs: number): Check;
  /** The result of a checked bucket; writes when `write` (every bucket passed and it consumes). */
  settle(
    check: Check,
    rule: Rule,
    cost: number,
    write: boolean,
    extra: number,
    nowUs: number,
  ): Settled<State>;
  /** Gives `tokens` back to a bucket (never beyond full; an absent bucket is full already). */
  refund(state: State | undefined, rule: Rule, tokens: number, nowUs: number): Settled<State>;
  /**
   * The least state a denial's result proves the bucket had at `atUs` (the local time before the
   * request was sent): the deny cache judges later requests against it, and a request it still
   * denies is denied by the store too.
   */
  deniedState(rule: Rule, cost: number, result: BucketResult, atUs: number): State;
  /** This instance's share of a rule when `instances` share it (failureStrategy 'local'). */
  share(rule: Rule, instances: number): Rule;
}
