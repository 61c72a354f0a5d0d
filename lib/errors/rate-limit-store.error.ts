/** Why a store could not decide. */
export type RateLimitStoreFailure = 'timeout' | 'unavailable' | 'error';

/**
 * The store (Redis) could not answer in time or at all. The guard never lets it escape: it
 * applies the failure strategy instead. Exposed on `RateLimitDecision.storeError`.
 *
 * @publicApi
 */
export class RateLimitStoreError extends Error {
  override readonly name = 'RateLimitStoreError';

  constructor(
    readonly failure: RateLimitStoreFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
