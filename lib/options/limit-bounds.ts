/** Largest capacity: keeps the float arithmetic of the bucket far from its precision limits. */
export const MAX_CAPACITY = 1_000_000_000;
/** Fastest refill: one token per microsecond. */
export const MIN_US_PER_TOKEN = 1;
/** Longest time to refill from empty: a bucket that takes longer is a quota, not a rate. */
export const MAX_WINDOW_US = 366 * 86_400 * 1_000_000;
/** Name of a limit: a token of the RateLimit header's quoted string. */
export const LIMIT_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Scope: no braces (they would move the Cluster hash tag), no spaces or glob characters. */
export const SCOPE_PATTERN = /^[A-Za-z0-9_.:/@=+-]{1,128}$/;
