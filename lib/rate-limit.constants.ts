/** Logger context of every line the module writes. */
export const RATE_LIMIT_LOG_CONTEXT = 'RateLimit';

/** Injection token of the resolved module options. */
export const RESOLVED_RATE_LIMIT_OPTIONS = Symbol('RESOLVED_RATE_LIMIT_OPTIONS');
