import type { LimitOptions } from 'nest-redis-rate-limit';

/**
 * Telemetry ingest: a client may send a burst of 100 batches, then 200 per second, per API key
 * (no key: per IP). A high rate, so many app instances share each bucket at once.
 */
export const EVENTS_LIMIT: LimitOptions = {
  name: 'ingest',
  capacity: 100,
  refill: '200/s',
  keyBy: 'apiKey',
};
