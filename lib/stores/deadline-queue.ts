import { performance } from 'node:perf_hooks';

interface Pending {
  readonly deadlineMs: number;
  readonly reject: (error: Error) => void;
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
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadlineMs: performance.now() + this.timeoutMs, reject };
      this.pending.add(entry);
      this.ticker ??= setInterval(() => this.expire(), this.tickMs);
      work.then(
        (value) => {
          if (this.pending.delete(entry)) resolve(value);
        },
        (error: unknown) => {
          if (this.pending.delete(entry))
            reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  private expire(): void {
    const nowMs = performance.now();
    for (const entry of this.pending) {
      if (entry.deadlineMs > nowMs) break;
      this.pending.delete(entry);
      entry.reject(this.onTimeout());
    }
    if (this.pending.size === 0 && this.ticker !== undefined) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}
