import type { LimitOptions } from 'nest-redis-rate-limit';

/**
 * A burst limit (10 at once, 5 per second after: a token bucket) and a daily quota (1000 per
 * UTC day: a fixed window, what "1000 a day" means to a customer, with windows aligned to the
 * store's clock, so it starts over at midnight UTC for everyone). One route judges both in one
 * atomic decision. Both routes of the search controller name the same scope, so a search and a
 * suggestion draw from the same buckets.
 */
export const SEARCH_LIMITS: readonly LimitOptions[] = [
  { name: 'burst', capacity: 10, refill: '5/s', scope: 'search' },
  {
    name: 'daily',
    algorithm: 'fixed-window',
    capacity: 1000,
    windowMs: 86_400_000,
    scope: 'search',
  },
];
