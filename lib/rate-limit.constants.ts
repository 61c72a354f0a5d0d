/** Logger context of every line the module writes. */
export const RATE_LIMIT_LOG_CONTEXT = 'RateLimit';

/** Injection token of the validated module options. */
export const RESOLVED_RATE_LIMIT_OPTIONS = Symbol('RESOLVED_RATE_LIMIT_OPTIONS');

/** Defaults of RateLimitModuleOptions, applied with `??` only. */
export const DEFAULT_MODULE_OPTIONS = {
  keyPrefix: 'rl:',
  failureStrategy: 'open',
  instances: 1,
  timeoutMs: 100,
  keyBy: 'ip',
  global: true,
  headers: true,
  ipv6Subnet: 64,
  memoryStoreMaxKeys: 100_000,
  denyCacheMaxKeys: 10_000,
} as const;
