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

  /**
   * @param onTimeout the error of a call that ran out of time
   * @param asError what a failed call rejects with (its error mapped once, inside the race)
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: () => Error,
    private readonly asError: (error: unknown) => Error = (error) =>
      error instanceof Error ? error : new Error(String(error)),
  ) {
    this.tickMs = Math.max(1, Math.min(5, Math.floor(timeoutMs / 10)));
  }

  /** Settles like `work` (a failure through `asError`), or rejects with onTimeout() once the timeout has passed. */
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
          if (this.pending.delete(entry)) reject(this.asError(error));
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
