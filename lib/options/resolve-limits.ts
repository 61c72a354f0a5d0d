import type {
  AlgorithmName,
  TokenBucketRule,
  WindowRule,
} from '../algorithms/algorithm.interface.js';
import { ALGORITHMS } from '../algorithms/index.js';
import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import { toIdentityResolver } from '../keys/identity-resolver.js';
import {
  DEFAULT_LIMIT_OPTIONS,
  LIMIT_NAME_PATTERN,
  MAX_CAPACITY,
  MAX_WINDOW_US,
  MIN_US_PER_TOKEN,
  SCOPE_PATTERN,
} from './defaults.js';
import { FAILURE_STRATEGIES } from './failure-strategy.js';
import type { ChargeOn, LimitOptions, Refill } from './limit-options.interface.js';
import { OptionReader } from './option-reader.js';
import { parseRefill } from './parse-refill.js';
import type { LeaseSettings, PerRequestValues, ResolvedLimit } from './resolved-limit.interface.js';

const CHARGE_ON: readonly ChargeOn[] = ['always', 'success', 'failure'];

/**
 * Parses one or several limits into their resolved form, or throws a RateLimitConfigError that
 * names `where` and lists every problem found.
 */
export function resolveLimits(
  input: LimitOptions | readonly LimitOptions[],
  where: string,
): readonly ResolvedLimit[] {
  const limits: readonly unknown[] = Array.isArray(input) ? input : [input];
  const read = new OptionReader();
  if (limits.length === 0) read.problems.push('at least one limit is required');
  const resolved: ResolvedLimit[] = [];
  const seenNames = new Set<string>();
  limits.forEach((limit, index) => {
    const path = limits.length === 1 ? '' : `[${index}].`;
    const before = read.problems.length;
    const result = resolveLimit(limit, path, read);
    if (result === undefined || read.problems.length > before) return;
    if (seenNames.has(result.name)) {
      read.problems.push(
        `${path}name '${result.name}' is used by two limits; names must be unique`,
      );
    }
    seenNames.add(result.name);
    resolved.push(result);
  });
  if (read.problems.length > 0) throw new RateLimitConfigError(where, read.problems);
  return Object.freeze(resolved);
}

/**
 * The limit in force for one request of a limit whose capacity or refill is a function: `values`
 * are what they gave for this request (a static one as written), checked by the rules of a
 * static limit; or the problems, when a value breaks them.
 */
export function resolveLimitInForce(
  limit: ResolvedLimit,
  values: { readonly capacity: unknown; readonly refill: unknown },
): ResolvedLimit | { readonly problems: readonly string[] } {
  const read = new OptionReader();
  const capacity = readCapacity('capacity', values.capacity, read);
  if (typeof values.refill === 'function') read.fail('refill', 'must be a rate', values.refill);
  const rule =
    limit.algorithm.name === 'token-bucket'
      ? parseTokenBucket(
          { refill: values.refill } as Readonly<Record<keyof LimitOptions, unknown>>,
          read.problems.length === 0 ? capacity : undefined,
          limit.name,
          '',
          read,
        )
      : undefined;
  if (read.problems.length > 0) return { problems: read.problems };
  return Object.freeze({ ...limit, ...rule, capacity, perRequest: undefined });
}

function resolveLimit(input: unknown, path: string, read: OptionReader): ResolvedLimit | undefined {
  if (typeof input !== 'object' || input === null) {
    read.problems.push(
      `${path || 'limit'} must be an object with capacity and refill, or algorithm, capacity and windowMs`,
    );
    return undefined;
  }
  const limit = input as Readonly<Record<keyof LimitOptions, unknown>>;
  const name = read.matching(
    `${path}name`,
    limit.name ?? DEFAULT_LIMIT_OPTIONS.name,
    LIMIT_NAME_PATTERN,
    'must be 1-64 characters of A-Z a-z 0-9 _ . -',
  );
  const perRequest = perRequestValues(limit);
  const before = read.problems.length;
  const capacity =
    typeof limit.capacity === 'function'
      ? Number.NaN
      : readCapacity(`${path}capacity`, limit.capacity, read);
  const capacityValid = read.problems.length === before && !Number.isNaN(capacity);
  const algorithm = read.oneOf(
    `${path}algorithm of limit '${name}'`,
    limit.algorithm ?? DEFAULT_LIMIT_OPTIONS.algorithm,
    ALGORITHM_NAMES,
  );
  const rule =
    algorithm === 'token-bucket'
      ? parseTokenBucket(limit, capacityValid ? capacity : undefined, name, path, read)
      : parseWindow(limit, algorithm, name, path, read);
  const cost = limit.cost ?? DEFAULT_LIMIT_OPTIONS.cost;
  // Named, since an absurd cost is the one mistake that reads fine in a list of limits.
  const costField = `${path}cost of limit '${name}'`;
  if (typeof cost === 'number') {
    if (!Number.isFinite(cost) || cost < 0)
      read.fail(costField, 'must be a finite number >= 0', cost);
    else if (capacityValid && cost > capacity) {
      read.fail(
        costField,
        `must not exceed capacity ${capacity}, or no request could ever pass`,
        cost,
      );
    }
  } else if (typeof cost !== 'function') {
    read.fail(costField, 'must be a number or a function of the request', cost);
  }
  const scope =
    limit.scope === undefined
      ? undefined
      : read.matching(
          `${path}scope`,
          limit.scope,
          SCOPE_PATTERN,
          'must be 1-128 characters of A-Z a-z 0-9 _ . : / @ = + - (no braces)',
        );
  const failureStrategy =
    limit.failureStrategy === undefined
      ? undefined
      : read.oneOf(`${path}failureStrategy`, limit.failureStrategy, FAILURE_STRATEGIES);
  const when = limit.when;
  if (when !== undefined && typeof when !== 'function') {
    read.fail(`${path}when`, 'must be a function of the request', when);
  }
  const lease =
    algorithm === 'token-bucket'
      ? parseLease(limit.lease, capacityValid ? capacity : MAX_CAPACITY, path, read)
      : undefined;
  const shadow =
    limit.shadow === undefined ? undefined : read.boolean(`${path}shadow`, limit.shadow);
  const chargeOn = read.oneOf(
    `${path}chargeOn`,
    limit.chargeOn ?? DEFAULT_LIMIT_OPTIONS.chargeOn,
    CHARGE_ON,
  );
  const identity = limit.keyBy === undefined ? undefined : toIdentityResolver(limit.keyBy);
  if (identity === null) {
    read.fail(`${path}keyBy`, "must be 'ip', 'user', 'apiKey' or a function", limit.keyBy);
  }
  return Object.freeze({
    ...rule,
    name,
    capacity,
    identity: identity ?? undefined,
    cost: cost as ResolvedLimit['cost'],
    scope,
    failureStrategy,
    when: when as ResolvedLimit['when'],
    lease,
    perRequest,
    shadow,
    chargeOn,
  });
}

function readCapacity(path: string, value: unknown, read: OptionReader): number {
  return read.integer(
    path,
    value,
    1,
    MAX_CAPACITY,
    `must be a positive integer up to ${MAX_CAPACITY}`,
  );
}

/** The capacity and refill as written when either is a function of the request. */
function perRequestValues(
  limit: Readonly<Record<keyof LimitOptions, unknown>>,
): PerRequestValues | undefined {
  if (typeof limit.capacity !== 'function' && typeof limit.refill !== 'function') return undefined;
  return Object.freeze({
    capacity: limit.capacity as PerRequestValues['capacity'],
    refill: limit.refill as PerRequestValues['refill'],
  });
}

const ALGORITHM_NAMES = Object.keys(ALGORITHMS) as AlgorithmName[];

/** A limit's rule with the `w` of its RateLimit-Policy. */
type RuleOf = (Omit<TokenBucketRule, 'capacity'> | Omit<WindowRule, 'capacity'>) & {
  readonly windowSeconds: number;
};

function parseTokenBucket(
  limit: Readonly<Record<keyof LimitOptions, unknown>>,
  capacity: number | undefined,
  name: string,
  path: string,
  read: OptionReader,
): RuleOf {
  if (limit.windowMs !== undefined) {
    read.fail(
      `${path}windowMs of token-bucket limit '${name}'`,
      "is for windows: set algorithm 'fixed-window' or 'sliding-window', or give refill instead",
      limit.windowMs,
    );
  }
  const exactUsPerToken = parseLimitRefill(limit.refill, path, read);
  if (capacity !== undefined && capacity * exactUsPerToken > MAX_WINDOW_US) {
    read.problems.push(
      `${path}capacity / refill takes more than 366 days to refill from empty; use a faster refill or a smaller capacity`,
    );
  }
  return {
    algorithm: ALGORITHMS['token-bucket'],
    // Whole microseconds per token: every debt of a whole cost is then a whole number of µs and
    // nothing is rounded as a bucket fills, so no rounding can drift across writes. Rounding up
    // errs slow, by less than 1 µs per token (exact for rates whose token time is whole µs).
    usPerToken: Math.ceil(exactUsPerToken),
    windowSeconds: Math.ceil(((capacity ?? 1) * exactUsPerToken) / 1_000_000),
  };
}

/** A window takes capacity and windowMs; refill, lease and a fractional cost are refused. */
function parseWindow(
  limit: Readonly<Record<keyof LimitOptions, unknown>>,
  algorithm: Exclude<AlgorithmName, 'token-bucket'>,
  name: string,
  path: string,
  read: OptionReader,
): RuleOf {
  const of = `of ${algorithm} limit '${name}'`;
  const windowMs = read.integer(
    `${path}windowMs ${of}`,
    limit.windowMs,
    1,
    MAX_WINDOW_US / 1000,
    limit.windowMs === undefined
      ? 'is required: the window, in whole milliseconds'
      : 'must be a whole number of milliseconds from 1 to 366 days',
  );
  if (limit.refill !== undefined) {
    read.fail(
      `${path}refill ${of}`,
      'is for token buckets: a window takes capacity and windowMs',
      limit.refill,
    );
  }
  if (limit.lease !== undefined) {
    read.fail(
      `${path}lease ${of}`,
      'is for token buckets: leased tokens could be spent after their window, beyond its capacity',
      limit.lease,
    );
  }
  const cost = limit.cost;
  if (typeof cost === 'number' && Number.isFinite(cost) && !Number.isInteger(cost)) {
    read.fail(`${path}cost ${of}`, 'must be a whole number: windows count whole tokens', cost);
  }
  return {
    algorithm: ALGORITHMS[algorithm],
    windowUs: windowMs * 1000,
    windowSeconds: Math.ceil(windowMs / 1000),
  };
}

function parseLimitRefill(value: unknown, path: string, read: OptionReader): number {
  // Worked out per request (resolveLimitInForce).
  if (typeof value === 'function') return Number.NaN;
  if (value === undefined) {
    read.fail(`${path}refill`, 'is required', undefined);
    return Number.NaN;
  }
  const refill = parseRefill(value as Refill);
  if ('problem' in refill) {
    read.problems.push(`${path}${refill.problem}`);
    return Number.NaN;
  }
  if (refill.usPerToken < MIN_US_PER_TOKEN) {
    read.fail(`${path}refill`, 'must be at most 1,000,000 tokens per second', value);
    return Number.NaN;
  }
  return refill.usPerToken;
}

function parseLease(
  value: unknown,
  capacity: number,
  path: string,
  read: OptionReader,
): LeaseSettings | undefined {
  if (value === undefined) return undefined;
  const fields = read.object(`${path}lease`, value, 'must be an object { tokens, ttlMs? }');
  if (fields === undefined) return undefined;
  return Object.freeze({
    tokens: read.integer(
      `${path}lease.tokens`,
      fields.tokens,
      1,
      capacity,
      `must be an integer from 1 to the capacity (${capacity})`,
    ),
    ttlMs: read.integer(
      `${path}lease.ttlMs`,
      fields.ttlMs ?? DEFAULT_LIMIT_OPTIONS.leaseTtlMs,
      10,
      60_000,
      'must be an integer from 10 to 60000',
    ),
  });
}
