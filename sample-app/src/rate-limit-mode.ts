/**
 * How instances share the work with Redis, from RATE_LIMIT_MODE:
 * - `plain`: every decision is one Redis round trip.
 * - `deny-cache` (default): a denied key is answered locally until it could pass.
 * - `lease`: also, the `/events` limit takes tokens from Redis in batches.
 */
export type RateLimitMode = 'plain' | 'deny-cache' | 'lease';

const MODES: readonly RateLimitMode[] = ['plain', 'deny-cache', 'lease'];

export function parseRateLimitMode(value: string | undefined): RateLimitMode {
  if (value === undefined || value.trim() === '') return 'deny-cache';
  const mode = MODES.find((candidate) => candidate === value.trim());
  if (mode === undefined) {
    throw new Error(`RATE_LIMIT_MODE: expected one of ${MODES.join(', ')}, got '${value}'`);
  }
  return mode;
}
