import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import { type IdentityResolver, toIdentityResolver } from '../keys/identity-resolver.js';
import {
  DEFAULT_CONCURRENCY_OPTIONS,
  LIMIT_NAME_PATTERN,
  MAX_IN_FLIGHT,
  MAX_SLOT_LEASE_MS,
  MIN_SLOT_LEASE_MS,
  SCOPE_PATTERN,
} from '../options/defaults.js';
import { FAILURE_STRATEGIES } from '../options/failure-strategy.js';
import type { FailureStrategy } from '../options/limit-options.interface.js';
import { OptionReader } from '../options/option-reader.js';

/** A concurrency limit after parsing. */
export interface ResolvedConcurrencyLimit {
  readonly name: string;
  readonly max: number;
  readonly leaseMs: number;
  readonly retryAfterMs: number;
  /** Undefined: the module's keyBy. */
  readonly identity: IdentityResolver | undefined;
  /** Undefined: '<Controller>.<handler>' of the route (or 'service'). */
  readonly scope: string | undefined;
  /** Undefined: the module's. */
  readonly failureStrategy: FailureStrategy | undefined;
  /** Undefined: the module's. */
  readonly shadow: boolean | undefined;
}

const KNOWN = new Set([
  'max',
  'keyBy',
  'scope',
  'leaseMs',
  'name',
  'retryAfterMs',
  'failureStrategy',
  'shadow',
]);

/**
 * Parses a concurrency limit, or throws a RateLimitConfigError naming `where` and every problem.
 * Unknown fields are refused: `{ capacity: 5 }` here is a rate limit in the wrong decorator.
 */
export function resolveConcurrencyLimit(input: unknown, where: string): ResolvedConcurrencyLimit {
  const read = new OptionReader();
  const fields = read.object(
    'the limit',
    input,
    'must be an object { max, keyBy?, scope?, leaseMs? }',
  );
  if (fields === undefined) throw new RateLimitConfigError(where, read.problems);
  for (const field of Object.keys(fields)) {
    if (!KNOWN.has(field)) {
      read.problems.push(
        `${field} is not an option of a concurrency limit (${[...KNOWN].join(', ')})`,
      );
    }
  }
  const max = read.integer(
    'max',
    fields.max,
    1,
    MAX_IN_FLIGHT,
    fields.max === undefined
      ? 'is required: the requests in flight at once per identity'
      : `must be an integer from 1 to ${MAX_IN_FLIGHT}`,
  );
  const leaseMs = read.integer(
    'leaseMs',
    fields.leaseMs ?? DEFAULT_CONCURRENCY_OPTIONS.leaseMs,
    MIN_SLOT_LEASE_MS,
    MAX_SLOT_LEASE_MS,
    `must be an integer from ${MIN_SLOT_LEASE_MS} to ${MAX_SLOT_LEASE_MS} (a day)`,
  );
  const retryAfterMs = read.integer(
    'retryAfterMs',
    fields.retryAfterMs ?? DEFAULT_CONCURRENCY_OPTIONS.retryAfterMs,
    1,
    MAX_SLOT_LEASE_MS,
    `must be an integer from 1 to ${MAX_SLOT_LEASE_MS}`,
  );
  const name = read.matching(
    'name',
    fields.name ?? DEFAULT_CONCURRENCY_OPTIONS.name,
    LIMIT_NAME_PATTERN,
    'must be 1-64 characters of A-Z a-z 0-9 _ . -',
  );
  const scope =
    fields.scope === undefined
      ? undefined
      : read.matching(
          'scope',
          fields.scope,
          SCOPE_PATTERN,
          'must be 1-128 characters of A-Z a-z 0-9 _ . : / @ = + - (no braces)',
        );
  const failureStrategy =
    fields.failureStrategy === undefined
      ? undefined
      : read.oneOf('failureStrategy', fields.failureStrategy, FAILURE_STRATEGIES);
  const shadow = fields.shadow === undefined ? undefined : read.boolean('shadow', fields.shadow);
  const identity = fields.keyBy === undefined ? undefined : toIdentityResolver(fields.keyBy);
  if (identity === null) {
    read.fail('keyBy', "must be 'ip', 'user', 'apiKey' or a function", fields.keyBy);
  }
  if (read.problems.length > 0) throw new RateLimitConfigError(where, read.problems);
  return Object.freeze({
    name,
    max,
    leaseMs,
    retryAfterMs,
    identity: identity ?? undefined,
    scope,
    failureStrategy,
    shadow,
  });
}
