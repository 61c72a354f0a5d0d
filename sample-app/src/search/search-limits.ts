import type { LimitOptions } from 'nest-redis-rate-limit';

/**
 * A burst limit (10 at once, 5 per second after) and a daily quota. Both routes of the search
 * controller name the same scope, so a search and a suggestion draw from the same buckets.
 */
export const SEARCH_LIMITS: readonly LimitOptions[] = [
  { name: 'burst', capacity: 10, refill: '5/s', scope: 'search' },
  { name: 'daily', capacity: 1000, refill: '1000/day', scope: 'search' },
];
