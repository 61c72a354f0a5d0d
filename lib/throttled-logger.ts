import type { Logger } from '@nestjs/common';

/**
 * Logs at most once per interval and counts what it held back, so a failing Redis under load
 * writes one line per interval rather than one per request.
 */
export class ThrottledLogger {
  private lastLogMs = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'error'>,
    private readonly intervalMs: number,
  ) {}

  warn(message: () => string): void {
    this.write('warn', message);
  }

  error(message: () => string): void {
    this.write('error', message);
  }

  private write(level: 'warn' | 'error', message: () => string): void {
    const nowMs = Date.now();
    if (nowMs - this.lastLogMs < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const held = this.suppressed > 0 ? ` (${this.suppressed} similar messages suppressed)` : '';
    this.lastLogMs = nowMs;
    this.suppressed = 0;
    this.logger[level](`${message()}${held}`);
  }
}
