// Compiled by `npm run lint` (tsc --noEmit): pins the public contract's types.
import type { ExecutionContext } from '@nestjs/common';
import {
  type AcquireOptions,
  ConcurrencyLimit,
  type ConcurrencyDecision,
  RateLimit,
  RateLimitHeaders,
  RateLimitInfo,
  RateLimitModule,
  type RateLimitDecision,
  type RateLimitService,
  SkipRateLimit,
} from 'nest-redis-rate-limit';

RateLimitModule.forRoot();
RateLimitModule.forRoot({
  redis: 'redis://127.0.0.1:6379',
  failureStrategy: 'closed',
  global: false,
});
RateLimitModule.forRootAsync({ useFactory: () => ({ keyPrefix: 'x:' }), global: true });
// @ts-expect-error global shapes the module and is not a factory result
RateLimitModule.forRootAsync({ useFactory: () => ({ global: false }) });
// @ts-expect-error failureStrategy is 'open', 'closed' or 'local'
RateLimitModule.forRoot({ failureStrategy: 'maybe' });

RateLimit({ capacity: 10, refill: '10/min' });
RateLimit([
  { name: 'burst', capacity: 10, refill: 10 },
  { name: 'daily', capacity: 1000, refill: { tokens: 1000, intervalMs: 86_400_000 } },
]);
RateLimit({
  capacity: 5,
  refill: 1,
  keyBy: (ctx: ExecutionContext) => String(ctx.getType()),
  cost: () => Promise.resolve(2),
});
// @ts-expect-error capacity is a number
RateLimit({ capacity: '10', refill: '10/min' });
// @ts-expect-error refill is required
RateLimit({ capacity: 10 });
// @ts-expect-error keyBy is 'ip' | 'user' | 'apiKey' | a function
RateLimit({ capacity: 10, refill: 1, keyBy: 'session' });
SkipRateLimit();

RateLimitModule.forRoot({ headers: 'legacy' });
RateLimitModule.forRoot({ headers: false });
// @ts-expect-error headers is a boolean, 'draft-10', 'legacy' or 'both'
RateLimitModule.forRoot({ headers: 'draft-11' });
RateLimitHeaders('both');
// @ts-expect-error @RateLimitHeaders takes a mode
RateLimitHeaders();
RateLimitModule.forRoot({
  exceptionFactory: (decision: RateLimitDecision, context: ExecutionContext) =>
    context.getType() === 'http' ? new Error(`wait ${decision.retryAfterMs} ms`) : undefined,
});
// @ts-expect-error exceptionFactory returns an Error or undefined
RateLimitModule.forRoot({ exceptionFactory: () => 'slow down' });
export const infoParameter: ParameterDecorator = RateLimitInfo();

RateLimit({
  capacity: (ctx: ExecutionContext) => (ctx.getType() === 'http' ? 100 : 10),
  refill: () => Promise.resolve('100/min' as const),
});
// @ts-expect-error a capacity function returns a number
RateLimit({ capacity: () => '10', refill: 1 });
// @ts-expect-error a refill function returns a Refill
RateLimit({ capacity: 10, refill: () => '5/minutes' });

export async function usesService(service: RateLimitService): Promise<number> {
  const decision: RateLimitDecision = await service.consume(
    'user:1',
    { capacity: 1, refill: 1 },
    2,
  );
  await service.peek('user:1', { capacity: 1, refill: 1 });
  await service.reset('user:1');
  return decision.limits[0]?.retryAfterMs ?? decision.retryAfterMs;
}

// The README's own examples compile under exactOptionalPropertyTypes: optional options take undefined.
RateLimitModule.forRoot({ redis: process.env.REDIS_URL, keyPrefix: process.env.PREFIX });
declare const config: { get<T>(key: string): T | undefined };
RateLimitModule.forRootAsync({
  useFactory: () => ({ redis: config.get<string>('REDIS_URL'), timeoutMs: undefined }),
});
RateLimit({ capacity: 10, refill: '10/minute', name: undefined, keyBy: undefined });
RateLimit({ capacity: 10, refill: '0.5/s' });
// @ts-expect-error the unit of a refill string is s|sec|second|m|min|minute|h|hour|d|day
RateLimit({ capacity: 10, refill: '5/minutes' });
// @ts-expect-error a refill string is '<n>/<unit>'
RateLimit({ capacity: 10, refill: 'ten per minute' });

// Windows: capacity per windowMs; a route may mix them with token buckets.
RateLimit({ algorithm: 'fixed-window', capacity: 100, windowMs: 3_600_000 });
RateLimit([
  { name: 'burst', capacity: 10, refill: '10/s' },
  { name: 'hourly', algorithm: 'sliding-window', capacity: 1000, windowMs: 3_600_000 },
]);
RateLimit({ algorithm: 'token-bucket', capacity: 10, refill: 1 });
// @ts-expect-error a window takes windowMs
RateLimit({ algorithm: 'fixed-window', capacity: 100 });
// @ts-expect-error a window has no refill
RateLimit({ algorithm: 'sliding-window', capacity: 100, windowMs: 1000, refill: '1/s' });
// @ts-expect-error a window is not leased
RateLimit({ algorithm: 'fixed-window', capacity: 100, windowMs: 1000, lease: { tokens: 5 } });
// @ts-expect-error windowMs is for windows
RateLimit({ capacity: 10, refill: 1, windowMs: 1000 });
// @ts-expect-error algorithm is 'token-bucket', 'fixed-window' or 'sliding-window'
RateLimit({ algorithm: 'leaky-bucket', capacity: 10, windowMs: 1000 });

export function sourceOf(
  decision: RateLimitDecision,
): 'redis' | 'memory' | 'deny-cache' | 'lease' | 'fail-open' | 'fail-closed' | 'local' | 'block' {
  return decision.source;
}

RateLimitModule.forRoot({
  instances: 'auto',
  blocks: 'always',
  allowList: ['10.0.0.0/8', '2001:db8::/32', 'user:42', 'apiKey:secret'],
  denyList: ['203.0.113.7'],
});
// @ts-expect-error instances is a number or 'auto'
RateLimitModule.forRoot({ instances: 'all' });
// @ts-expect-error a list is an array of strings
RateLimitModule.forRoot({ denyList: '203.0.113.7' });

// Concurrency limits: the decorator, and acquire's decision with its release.
ConcurrencyLimit({ max: 2, keyBy: 'apiKey', leaseMs: 60_000, scope: undefined });
// @ts-expect-error max is required
ConcurrencyLimit({ keyBy: 'ip' });
export async function usesAcquire(service: RateLimitService): Promise<boolean> {
  const options: AcquireOptions = { max: 4, scope: 'reports', failureStrategy: 'closed' };
  const slot: ConcurrencyDecision = await service.acquire('tenant:1', options);
  const release: () => Promise<void> = slot.release;
  await release();
  // @ts-expect-error the key argument is the identity: acquire takes no keyBy
  await service.acquire('tenant:1', { max: 1, keyBy: 'ip' });
  return slot.allowed;
}
