import type { ExecutionContext } from '@nestjs/common';
import type { RateLimitDecision } from '../decision/rate-limit-decision.interface.js';
import type { HeadersMode } from '../http/rate-limit-headers.js';
import type { IdentityResolver } from '../keys/identity-resolver.js';
import type { AccessList } from '../lists/access-list.js';
import type { CircuitBreakerSettings } from '../pipeline/circuit-breaker.js';
import type { RedisConnection } from '../stores/redis-client.js';
import type { FailureStrategy } from './limit-options.interface.js';
import type { RateLimitMeterProvider } from './rate-limit-module-options.interface.js';
import type { ResolvedLimit } from './resolved-limit.interface.js';

/** Module options after parsing: every field set, every default applied. */
export interface ResolvedModuleOptions {
  /** Undefined: the in-process memory store. */
  readonly redis: RedisConnection | undefined;
  readonly keyPrefix: string;
  readonly failureStrategy: FailureStrategy;
  /** 'auto': counted in Redis (pipeline/instance-registry.layer.ts). */
  readonly instances: number | 'auto';
  readonly timeoutMs: number;
  readonly readyWaitMs: number;
  readonly identity: IdentityResolver;
  readonly defaultLimits: readonly ResolvedLimit[] | undefined;
  readonly headers: HeadersMode;
  readonly exceptionFactory:
    ((decision: RateLimitDecision, context: ExecutionContext) => Error | undefined) | undefined;
  readonly ipv6Subnet: number;
  readonly memoryStoreMaxKeys: number;
  readonly circuitBreaker: CircuitBreakerSettings | false;
  readonly denyCache: { readonly maxKeys: number } | false;
  readonly metrics: boolean;
  /** Undefined: the global MeterProvider of @opentelemetry/api. */
  readonly meterProvider: RateLimitMeterProvider | undefined;
  readonly shadow: boolean;
  readonly allowList: AccessList | undefined;
  readonly denyList: AccessList | undefined;
  readonly blocks: 'auto' | 'always';
}
