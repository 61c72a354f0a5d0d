/**
 * Thrown when a limit or the module configuration is invalid. The message names where the bad
 * configuration was found (e.g. `@RateLimit on CatsController.create`) and lists every problem,
 * one per line, so the application refuses to start instead of running unprotected.
 *
 * @publicApi
 */
export class RateLimitConfigError extends Error {
  override readonly name = 'RateLimitConfigError';

  constructor(
    readonly where: string,
    readonly problems: readonly string[],
  ) {
    super(
      problems.length === 1
        ? `${where}: ${problems[0]}`
        : `${where}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
  }
}
