import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Handlers wait at the gate until the test opens it, so "in flight" is a state the test sets,
 * not a race against a timer: `entered` counts the handlers that reached it.
 */
export class Gate {
  entered = 0;
  finished = 0;
  private opened!: () => void;
  private open$ = this.reset();

  reset(): Promise<void> {
    this.entered = 0;
    this.finished = 0;
    this.open$ = new Promise((resolve) => (this.opened = resolve));
    return this.open$;
  }

  async pass(): Promise<void> {
    this.entered += 1;
    await this.open$;
    this.finished += 1;
  }

  open(): void {
    this.opened();
  }

  /** Waits (bounded) until `count` handlers are at the gate. */
  async untilEntered(count: number): Promise<void> {
    const started = performance.now();
    while (this.entered < count) {
      if (performance.now() - started > 10_000) {
        throw new Error(`${this.entered} handlers in flight, expected ${count}`);
      }
      await sleep(5);
    }
  }
}
