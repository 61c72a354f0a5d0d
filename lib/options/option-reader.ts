/**
 * Parses untrusted option values into typed ones, collecting every problem instead of stopping
 * at the first, so a RateLimitConfigError can list them all. Each method returns the value when
 * valid and a placeholder otherwise: the caller throws when `problems` is not empty, so a
 * placeholder is never used.
 */
export class OptionReader {
  readonly problems: string[] = [];

  /** Records `<path> <rule> (got <value>)`. */
  fail(path: string, rule: string, value: unknown): void {
    this.problems.push(`${path} ${rule} (got ${describeValue(value)})`);
  }

  /** An integer from `min` to `max`; `rule` says so in words. */
  integer(path: string, value: unknown, min: number, max: number, rule: string): number {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) {
      return value;
    }
    this.fail(path, rule, value);
    return min;
  }

  positiveInteger(path: string, value: unknown): number {
    return this.integer(path, value, 1, Number.MAX_SAFE_INTEGER, 'must be a positive integer');
  }

  oneOf<T extends string>(path: string, value: unknown, choices: readonly T[]): T {
    if ((choices as readonly unknown[]).includes(value)) return value as T;
    this.fail(
      path,
      `must be ${choices
        .map((choice) => `'${choice}'`)
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1')}`,
      value,
    );
    return choices[0]!;
  }

  boolean(path: string, value: unknown): boolean {
    if (typeof value === 'boolean') return value;
    this.fail(path, 'must be a boolean', value);
    return false;
  }

  /** An object's fields as unknowns, or undefined (with a problem) when it is not an object. */
  object(
    path: string,
    value: unknown,
    rule: string,
  ): Readonly<Record<string, unknown>> | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Readonly<Record<string, unknown>>;
    }
    this.fail(path, rule, value);
    return undefined;
  }

  /** A string matching `pattern`. */
  matching(path: string, value: unknown, pattern: RegExp, rule: string): string {
    if (typeof value === 'string' && pattern.test(value)) return value;
    this.fail(path, rule, value);
    return '';
  }
}

/** A short rendering of a bad option value for an error message. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return 'an object';
    }
  }
  return String(value);
}
