import type { LoggerService } from '@nestjs/common';

export type LogLevel = 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';

export interface LoggedLine {
  readonly level: LogLevel;
  readonly message: string;
  /** Nest's logger context (e.g. 'RateLimit'), when one was given. */
  readonly context: string | undefined;
}

/**
 * A LoggerService that keeps every line, for `app.useLogger(...)` on an app created with
 * `logger: false`: tests can then assert what was logged, and nothing reaches the console.
 */
export class CaptureLogger implements LoggerService {
  readonly lines: LoggedLine[] = [];

  log(message: unknown, ...rest: unknown[]): void {
    this.add('log', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.add('error', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.add('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.add('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.add('verbose', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.add('fatal', message, rest);
  }

  /** Lines whose message contains `text`, any level. */
  containing(text: string): LoggedLine[] {
    return this.lines.filter((line) => line.message.includes(text));
  }

  private add(level: LogLevel, message: unknown, rest: unknown[]): void {
    // Nest passes the context last; error() may pass a stack before it.
    const last = rest.at(-1);
    this.lines.push({
      level,
      message: message instanceof Error ? `${message.name}: ${message.message}` : String(message),
      context: typeof last === 'string' ? last : undefined,
    });
  }
}
