import { type ExecutionContext, Logger } from '@nestjs/common';
import { InvalidApiKeyHeaderException } from '../http/invalid-api-key-header.exception.js';
import {
  type IdentityResolver,
  type IdentitySettings,
  ipIdentity,
} from '../keys/identity-resolver.js';
import type { ResolvedLimit } from '../options/resolved-limit.interface.js';
import { REPEATED_LOG_INTERVAL_MS } from '../options/defaults.js';
import { RATE_LIMIT_LOG_CONTEXT } from '../rate-limit.constants.js';
import { ThrottledLogger } from '../throttled-logger.js';

/**
 * Runs the user's functions (keyBy, cost, when) for one request. They never turn into a 500:
 * a failure is logged and replaced by the protective choice, so the route stays limited.
 * - keyBy throws or returns garbage: the IP identity (as when it returns undefined);
 * - except the client's own fault, an `x-api-key` the 'apiKey' identity refuses: a 400, unlogged
 *   (InvalidApiKeyHeaderException passes through; the key is never logged);
 * - cost throws or returns anything but a finite number >= 0: cost 1;
 * - when throws: the limit applies.
 */
export class RequestInputs {
  private readonly log = new ThrottledLogger(
    new Logger(RATE_LIMIT_LOG_CONTEXT),
    REPEATED_LOG_INTERVAL_MS,
  );

  constructor(private readonly settings: IdentitySettings) {}

  /** The identity, or undefined when the request has none for this resolver (yet). */
  async identity(
    resolver: IdentityResolver,
    context: ExecutionContext,
  ): Promise<string | undefined> {
    try {
      return await resolver(context, this.settings);
    } catch (error) {
      return this.identityFailed(error, context);
    }
  }

  /** The IP identity, for limits whose own identity the request does not have. */
  ip(context: ExecutionContext): string | undefined {
    return ipIdentity(context, this.settings);
  }

  async cost(limit: ResolvedLimit, context: ExecutionContext): Promise<number> {
    if (typeof limit.cost === 'number') return limit.cost;
    try {
      const cost: unknown = await limit.cost(context);
      if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0) return cost;
      return this.costFailed(limit, `returned ${String(cost)}`);
    } catch (error) {
      return this.costFailed(limit, `threw ${describeError(error)}`);
    }
  }

  async applies(limit: ResolvedLimit, context: ExecutionContext): Promise<boolean> {
    if (limit.when === undefined) return true;
    try {
      return (await limit.when(context)) !== false;
    } catch (error) {
      this.log.error(
        () => `when of limit '${limit.name}' threw ${describeError(error)}; the limit applies`,
      );
      return true;
    }
  }

  private identityFailed(error: unknown, context: ExecutionContext): string | undefined {
    if (error instanceof InvalidApiKeyHeaderException) throw error;
    this.log.error(() => `keyBy failed: ${describeError(error)}; limiting by IP instead`);
    return ipIdentity(context, this.settings);
  }

  private costFailed(limit: ResolvedLimit, what: string): number {
    this.log.error(
      () =>
        `cost function of limit '${limit.name}' ${what}; it must return a finite number >= 0. Using cost 1`,
    );
    return 1;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
