export { RateLimitModule } from './rate-limit.module.js';
export { RATE_LIMIT_MODULE_OPTIONS } from './rate-limit.module-definition.js';
export { RateLimitService } from './rate-limit.service.js';
export { RateLimitGuard } from './rate-limit.guard.js';
export { RateLimit } from './decorators/rate-limit.decorator.js';
export { SkipRateLimit } from './decorators/skip-rate-limit.decorator.js';
export { ConcurrencyLimit } from './decorators/concurrency-limit.decorator.js';
export { RateLimitInfo } from './decorators/rate-limit-info.decorator.js';
export { RateLimitHeaders } from './decorators/rate-limit-headers.decorator.js';
export { RateLimitConfigError } from './errors/rate-limit-config.error.js';
export { RateLimitStoreError } from './errors/rate-limit-store.error.js';
export { TooManyRequestsException } from './http/too-many-requests.exception.js';
export { RateLimitUnavailableException } from './http/rate-limit-unavailable.exception.js';
export { InvalidApiKeyHeaderException } from './http/invalid-api-key-header.exception.js';
export { RateLimitStore } from './stores/rate-limit-store.interface.js';
export { MemoryRateLimitStore } from './stores/memory.store.js';
export { RedisRateLimitStore } from './stores/redis.store.js';
export { RateLimitThrottlerStorage } from './throttler/rate-limit-throttler.storage.js';
export { RateLimitEvents } from './observe/rate-limit-events.js';
export type { RateLimitStoreFailure } from './errors/rate-limit-store.error.js';
export type {
  AcquireOptions,
  ConcurrencyLimitOptions,
} from './options/concurrency-limit-options.interface.js';
export type { ConcurrencyDecision } from './concurrency/in-flight-slots.js';
export type {
  ChargeOn,
  CommonLimitOptions,
  FailureStrategy,
  KeyBy,
  LimitOptions,
  PerRequest,
  Refill,
  RefillUnit,
  TokenBucketLimitOptions,
  WindowLimitOptions,
} from './options/limit-options.interface.js';
export type {
  RateLimitMeterProvider,
  RateLimitHeadersMode,
  RateLimitModuleFactoryOptions,
  RateLimitModuleOptions,
} from './options/rate-limit-module-options.interface.js';
export type {
  RateLimitBreakerEvent,
  RateLimitDenialEvent,
  RateLimitEvent,
  RateLimitFailureEvent,
  RateLimitShadowDenialEvent,
} from './observe/rate-limit-event.interface.js';
export type { CircuitState } from './pipeline/circuit-breaker.js';
export type { LimitDecision, RateLimitDecision } from './decision/rate-limit-decision.interface.js';
export type { RedisClusterConfig } from './stores/redis-client.js';
export type { RateLimitThrottlerRecord } from './throttler/throttler-records.js';
export type {
  AlgorithmName,
  BucketRequest,
  BucketResult,
  BucketRule,
} from './algorithms/algorithm.interface.js';
export type {
  DecisionLayer,
  DecisionSource,
  Take,
  TakeQuery,
} from './pipeline/decision-layer.interface.js';
