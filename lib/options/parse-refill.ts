import type { Refill } from './limit-options.interface.js';

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  s: 1_000,
  sec: 1_000,
  second: 1_000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

const RATE_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*\/\s*([a-z]+)\s*$/;

/**
 * Turns a refill into microseconds per token, or returns a problem description.
 * Accepts `10` (per second), `'100/min'` and `{ tokens: 5, intervalMs: 2000 }`.
 */
export function parseRefill(refill: Refill): { usPerToken: number } | { problem: string } {
  if (typeof refill === 'number') {
    return positiveFinite(refill)
      ? { usPerToken: 1_000_000 / refill }
      : {
          problem: `refill must be a positive, finite number of tokens per second (got ${refill})`,
        };
  }
  if (typeof refill === 'string') {
    const match = RATE_PATTERN.exec(refill);
    const intervalMs = match?.[2] === undefined ? undefined : MS_PER_UNIT[match[2]];
    const tokens = Number(match?.[1]);
    if (intervalMs === undefined || !positiveFinite(tokens)) {
      return {
        problem: `refill must look like '<n>/<unit>' with n > 0 and unit one of ${Object.keys(MS_PER_UNIT).join('|')} (got ${JSON.stringify(refill)})`,
      };
    }
    return { usPerToken: (intervalMs * 1000) / tokens };
  }
  if (typeof refill === 'object' && refill !== null) {
    const { tokens, intervalMs } = refill as { tokens: unknown; intervalMs: unknown };
    if (typeof tokens !== 'number' || !positiveFinite(tokens)) {
      return { problem: `refill.tokens must be a positive, finite number (got ${String(tokens)})` };
    }
    if (typeof intervalMs !== 'number' || !positiveFinite(intervalMs)) {
      return {
        problem: `refill.intervalMs must be a positive, finite number (got ${String(intervalMs)})`,
      };
    }
    return { usPerToken: (intervalMs * 1000) / tokens };
  }
  return {
    problem: `refill must be a number, a '<n>/<unit>' string or { tokens, intervalMs } (got ${String(refill)})`,
  };
}

function positiveFinite(value: number): boolean {
  return Number.isFinite(value) && value > 0;
}
