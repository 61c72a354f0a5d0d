import type { LimitOptions } from 'nest-redis-rate-limit';
import { parseRateLimitMode } from '../rate-limit-mode.js';

/**
 * With RATE_LIMIT_MODE=lease, an instance takes up to 10 spare tokens (50 ms of refill) in the
 * round trip of a request and spends them on the next ones without Redis, for up to 1 s. Small
 * against the bucket: 4 instances hold at most 40 of its 100 tokens, and the rest of the fleet is
 * denied meanwhile.
 */
export const EVENTS_LEASE = { tokens: 10, ttlMs: 1000 };

/**
 * Telemetry ingest: a client may send a burst of 100 batches, then 200 per second, per API key
 * (no key: per IP). A high rate, so many app instances share each bucket at once.
 */
export const EVENTS_LIMIT: LimitOptions = {
  name: 'ingest',
  capacity: 100,
  refill: '200/s',
  keyBy: 'apiKey',
  ...(parseRateLimitMode(process.env.RATE_LIMIT_MODE) === 'lease' ? { lease: EVENTS_LEASE } : {}),
};
