import type { CircuitBreakerSettings } from '../stores/circuit-breaker.js';
import type { FailureStrategy } from './limit-options.interface.js';
import type { RateLimitModuleOptions } from './rate-limit-module-options.interface.js';
import type { ResolvedLimit } from './resolved-limit.interface.js';
import type { IdentityResolver } from '../keys/identity-resolver.js';

/** Module options after validation: every field set. */
export interface ResolvedModuleOptions {
  readonly redis: RateLimitModuleOptions['redis'];
  readonly keyPrefix: string;
  readonly failureStrategy: FailureStrategy;
  readonly instances: number;
  readonly timeoutMs: number;
  readonly identity: IdentityResolver;
  readonly defaultLimits: readonly ResolvedLimit[] | undefined;
  readonly headers: boolean;
  readonly ipv6Subnet: number;
  readonly memoryStoreMaxKeys: number;
  readonly circuitBreaker: CircuitBreakerSettings | false;
  readonly denyCache: { readonly maxKeys: number } | false;
}
