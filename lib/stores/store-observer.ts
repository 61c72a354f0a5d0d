import type { RateLimitStoreError } from '../errors/rate-limit-store.error.js';

/** Told the outcome of every `take` (the circuit breaker listens), from inside the store's own promise. */
export interface StoreObserver {
  succeeded(): void;
  failed(error: RateLimitStoreError): void;
}
