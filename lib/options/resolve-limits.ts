import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import { toIdentityResolver } from '../keys/identity-resolver.js';
import type { LimitOptions } from './limit-options.interface.js';
import {
  LIMIT_NAME_PATTERN,
  MAX_CAPACITY,
  MAX_WINDOW_US,
  MIN_US_PER_TOKEN,
  SCOPE_PATTERN,
} from './limit-bounds.js';
import { describeValue } from './describe-value.js';
import { parseRefill } from './parse-refill.js';
import type { LeaseSettings, ResolvedLimit } from './resolved-limit.interface.js';
import { isFailureStrategy } from './failure-strategy.js';

export const DEFAULT_LIMIT_NAME = 'default';
export const DEFAULT_LEASE_TTL_MS = 1000;

/**
 * Validates one or several limits and resolves them, or throws a RateLimitConfigError that
 * names `where` and lists every problem found.
 */
export function resolveLimits(
  input: LimitOptions | readonly LimitOptions[],
  where: string,
): readonly ResolvedLimit[] {
  const limits: readonly unknown[] = Array.isArray(input) ? input : [input];
  const problems: string[] = [];
  if (limits.length === 0) problems.push('at least one limit is required');
  const resolved: ResolvedLimit[] = [];
  const seenNames = new Set<string>();
  limits.forEach((limit, index) => {
    const path = limits.length === 1 ? '' : `[${index}].`;
    const result = resolveLimit(limit, path);
    if ('problems' in result) {
      problems.push(...result.problems);
      return;
    }
    if (seenNames.has(result.name)) {
      problems.push(`${path}name '${result.name}' is used by two limits; names must be unique`);
    }
    seenNames.add(result.name);
    resolved.push(result);
  });
  if (problems.length > 0) throw new RateLimitConfigError(where, problems);
  return Object.freeze(resolved);
}

function resolveLimit(input: unknown, path: string): ResolvedLimit | { problems: string[] } {
  if (typeof input !== 'object' || input === null) {
    return { problems: [`${path || 'limit'} must be an object with capacity and refill`] };
  }
  const limit = input as Partial<Record<keyof LimitOptions, unknown>>;
  const problems: string[] = [];
  const fail = (field: string, rule: string, value: unknown): void => {
    problems.push(`${path}${field} ${rule} (got ${describeValue(value)})`);
  };

  const name = limit.name ?? DEFAULT_LIMIT_NAME;
  if (typeof name !== 'string' || !LIMIT_NAME_PATTERN.test(name)) {
    fail('name', 'must be 1-64 characters of A-Z a-z 0-9 _ . -', name);
  }
  const capacity = limit.capacity;
  const capacityValid =
    typeof capacity === 'number' &&
    Number.isInteger(capacity) &&
    capacity >= 1 &&
    capacity <= MAX_CAPACITY;
  if (!capacityValid) {
    fail('capacity', `must be a positive integer up to ${MAX_CAPACITY}`, capacity);
  }
  let usPerToken = Number.NaN;
  if (limit.refill === undefined) {
    fail('refill', 'is required', undefined);
  } else {
    const refill = parseRefill(limit.refill as LimitOptions['refill']);
    if ('problem' in refill) problems.push(`${path}${refill.problem}`);
    else if (refill.usPerToken < MIN_US_PER_TOKEN) {
      fail('refill', 'must be at most 1,000,000 tokens per second', limit.refill);
    } else usPerToken = refill.usPerToken;
  }
  if (typeof capacity === 'number' && capacity * usPerToken > MAX_WINDOW_US) {
    problems.push(
      `${path}capacity / refill takes more than 366 days to refill from empty; use a faster refill or a smaller capacity`,
    );
  }
  const cost = limit.cost ?? 1;
  // Named, since an absurd cost is the one mistake that reads fine in a list of limits.
  const costField = typeof name === 'string' ? `cost of limit '${name}'` : 'cost';
  if (typeof cost === 'number') {
    if (!Number.isFinite(cost) || cost < 0) fail(costField, 'must be a finite number >= 0', cost);
    else if (capacityValid && cost > capacity) {
      fail(costField, `must not exceed capacity ${capacity}, or no request could ever pass`, cost);
    }
  } else if (typeof cost !== 'function') {
    fail(costField, 'must be a number or a function of the request', cost);
  }
  const scope = limit.scope;
  if (scope !== undefined && (typeof scope !== 'string' || !SCOPE_PATTERN.test(scope))) {
    fail('scope', 'must be 1-128 characters of A-Z a-z 0-9 _ . : / @ = + - (no braces)', scope);
  }
  const failureStrategy = limit.failureStrategy;
  if (failureStrategy !== undefined && !isFailureStrategy(failureStrategy)) {
    fail('failureStrategy', "must be 'open', 'closed' or 'local'", failureStrategy);
  }
  const when = limit.when;
  if (when !== undefined && typeof when !== 'function') {
    fail('when', 'must be a function of the request', when);
  }
  const lease = resolveLease(limit.lease, capacityValid ? capacity : undefined, fail);
  const identity = limit.keyBy === undefined ? undefined : toIdentityResolver(limit.keyBy);
  if (identity === null) {
    fail('keyBy', "must be 'ip', 'user', 'apiKey' or a function", limit.keyBy);
  }
  if (problems.length > 0) return { problems };

  return Object.freeze({
    name: name as string,
    capacity: capacity as number,
    usPerToken,
    windowSeconds: Math.ceil(((capacity as number) * usPerToken) / 1_000_000),
    identity: identity ?? undefined,
    cost: cost as ResolvedLimit['cost'],
    scope: scope as string | undefined,
    failureStrategy: failureStrategy as ResolvedLimit['failureStrategy'],
    when: when as ResolvedLimit['when'],
    lease,
  });
}

function resolveLease(
  value: unknown,
  capacity: number | undefined,
  fail: (field: string, rule: string, value: unknown) => void,
): LeaseSettings | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('lease', 'must be an object { tokens, ttlMs? }', value);
    return undefined;
  }
  const { tokens, ttlMs = DEFAULT_LEASE_TTL_MS } = value as { tokens?: unknown; ttlMs?: unknown };
  const maxTokens = capacity ?? MAX_CAPACITY;
  if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 1 || tokens > maxTokens) {
    fail('lease.tokens', `must be an integer from 1 to the capacity (${maxTokens})`, tokens);
  }
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < 10 || ttlMs > 60_000) {
    fail('lease.ttlMs', 'must be an integer from 10 to 60000', ttlMs);
  }
  return Object.freeze({ tokens: tokens as number, ttlMs: ttlMs as number });
}
