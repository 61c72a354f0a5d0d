import type { LimitOptions } from 'nest-redis-rate-limit';
import { planOf } from './api-keys.js';

/**
 * One limit per plan, chosen per request by `when`; the limit's name shows the plan in the
 * RateLimit headers. Requests without a known key get a per-IP limit instead, so nobody can
 * guess keys at full speed (the global rate-limit guard runs before the ApiKeyGuard's 401).
 */
export const PLAN_LIMITS: readonly LimitOptions[] = [
  {
    name: 'free',
    capacity: 5,
    refill: '5/min',
    keyBy: 'apiKey',
    when: (context) => planOf(context) === 'free',
  },
  {
    name: 'pro',
    capacity: 100,
    refill: '100/min',
    keyBy: 'apiKey',
    when: (context) => planOf(context) === 'pro',
  },
  {
    name: 'no-key',
    capacity: 10,
    refill: '10/min',
    keyBy: 'ip',
    when: (context) => planOf(context) === undefined,
  },
];
