import { performance } from 'node:perf_hooks';

interface Pending {
  readonly deadlineMs: number;
  readonly reject: (error: Error) => void;
  readonly onError: (error: unknown) => Error;
}

/**
 * Bounds how long a call may wait, with one shared timer instead of one per call. Every call
 * gets the same timeout, so calls expire in the order they started; a tick that runs only
 * while calls are pending rejects the expired ones from the front. A call may wait up to one
 * tick longer than the timeout.
 */
export class DeadlineQueue {
  private readonly pending = new Set<Pending>();
  private readonly tickMs: number;
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: () => Error,
  ) {
    this.tickMs = Math.max(1, Math.min(5, Math.floor(timeoutMs / 10)));
  }

  /** Settles like `work`, or rejects with onTimeout() once the timeout has passed. */
  race<T>(work: Promise<T>): Promise<T> {
    return this.settle(work, (value) => value, asError);
  }

  /**
   * Like `race`, mapping the work's value (or failure, the timeout's included) on the way: one
   * promise per call, where a `.then` or `.catch` around it would add another.
   */
  settle<T, R>(
    work: Promise<T>,
    onValue: (value: T) => R,
    onError: (error: unknown) => Error,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const entry: Pending = { deadlineMs: performance.now() + this.timeoutMs, reject, onError };
      this.pending.add(entry);
      this.ticker ??= setInterval(() => this.expire(), this.tickMs);
      work.then(
        (value) => {
          if (!this.pending.delete(entry)) return;
          try {
            resolve(onValue(value));
          } catch (error) {
            reject(onError(error));
          }
        },
        (error: unknown) => {
          if (this.pending.delete(entry)) reject(onError(error));
        },
      );
    });
  }

  private expire(): void {
    const nowMs = performance.now();
    for (const entry of this.pending) {
      if (entry.deadlineMs > nowMs) break;
      this.pending.delete(entry);
      entry.reject(entry.onError(this.onTimeout()));
    }
    if (this.pending.size === 0 && this.ticker !== undefined) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
