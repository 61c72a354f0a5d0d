import type { BucketRequest } from '../algorithms/algorithm.interface.js';
import { RateLimitStoreError } from '../errors/rate-limit-store.error.js';
import type { RateLimitStore } from '../stores/rate-limit-store.interface.js';
import type { Take, TakeQuery } from './decision-layer.interface.js';

/** How a store call ended: answered, failed, or past `timeoutMs`. */
export type StoreCallResult = 'ok' | 'error' | 'timeout';

/** Where the timing layer reports each store call. */
export interface StoreCallRecorder {
  /** False while nothing records (no MeterProvider yet, or none at all): calls are not timed. */
  readonly recording: boolean;
  record(durationMs: number, result: StoreCallResult): void;
}

/**
 * Times every call that reaches the store, directly above it, so that a call the circuit
 * breaker refuses (no round trip) is never counted. A failure is `'timeout'` when the store gave
 * up after `timeoutMs`, else `'error'` (an error reply, or the connection is down).
 */
export class StoreTimingLayer implements RateLimitStore {
  constructor(
    private readonly inner: RateLimitStore,
    private readonly recorder: StoreCallRecorder,
  ) {}

  get description(): string {
    return this.inner.description;
  }

  take(query: TakeQuery): Promise<Take> {
    return this.timed(() => this.inner.take(query));
  }

  refund(requests: readonly BucketRequest[]): Promise<void> {
    return this.timed(() => this.inner.refund(requests));
  }

  reset(keys: readonly string[]): Promise<void> {
    return this.timed(() => this.inner.reset(keys));
  }

  resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    return this.timed(() => this.inner.resetIdentity(keyPrefix, identity));
  }

  onReconnect(listener: () => void): () => void {
    return this.inner.onReconnect?.(listener) ?? (() => {});
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private timed<T>(call: () => Promise<T>): Promise<T> {
    if (!this.recorder.recording) return call();
    const startMs = performance.now();
    return call().then(
      (value) => {
        this.recorder.record(performance.now() - startMs, 'ok');
        return value;
      },
      (error: unknown) => {
        const timedOut = error instanceof RateLimitStoreError && error.failure === 'timeout';
        this.recorder.record(performance.now() - startMs, timedOut ? 'timeout' : 'error');
        throw error;
      },
    );
  }
}
