import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { RateLimitDecision } from './decision/rate-limit-decision.interface.js';
import { LimitsMetadata, SkipMetadata } from './decorators/rate-limit-metadata.js';
import { planLimits, planRoute, type RoutePlan } from './guard/route-plan.js';
import { RequestInputs } from './guard/request-inputs.js';
import { rateLimitHeader, retryAfterSeconds } from './http/rate-limit-headers.js';
import { RateLimitUnavailableException } from './http/rate-limit-unavailable.exception.js';
import { TooManyRequestsException } from './http/too-many-requests.exception.js';
import { bucketKey } from './keys/bucket-key.js';
import { RateLimitEngine } from './rate-limit.engine.js';

type Handler = (...args: unknown[]) => unknown;
type ControllerClass = abstract new (...args: never[]) => unknown;

/**
 * Enforces the limits of `@RateLimit` (the handler's over the controller's, else the module's
 * `defaultLimit`) on HTTP routes, Express or Fastify. Registered globally by default; with
 * `global: false`, use it with `@UseGuards(RateLimitGuard)`. Other contexts (RPC, websockets)
 * pass untouched: use RateLimitService there.
 *
 * @publicApi
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly plans = new WeakMap<ControllerClass, Map<Handler, RoutePlan | null>>();
  private readonly inputs: RequestInputs;

  constructor(
    private readonly reflector: Reflector,
    private readonly engine: RateLimitEngine,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.inputs = new RequestInputs(engine.options);
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const plan = this.planFor(context);
    return plan === null ? true : this.enforce(plan, context);
  }

  /**
   * No async function and no await on the common path (fixed costs, identities known at once):
   * one promise, the store's, between the request and its answer.
   */
  private enforce(routePlan: RoutePlan, context: ExecutionContext): Promise<boolean> {
    if (!routePlan.conditional) return this.judge(routePlan, context);
    return this.applicable(routePlan, context).then((plan) =>
      plan.limits.length === 0 ? true : this.judge(plan, context),
    );
  }

  private judge(plan: RoutePlan, context: ExecutionContext): Promise<boolean> {
    const keys = this.keysOf(plan, context);
    const costs =
      plan.fixedCosts ?? Promise.all(plan.rules.map((limit) => this.inputs.cost(limit, context)));
    if (Array.isArray(keys) && Array.isArray(costs)) return this.decide(plan, keys, costs, context);
    return Promise.all([keys, costs]).then(([known, charged]) =>
      this.decide(plan, known, charged, context),
    );
  }

  private decide(
    plan: RoutePlan,
    keys: readonly string[],
    costs: readonly number[],
    context: ExecutionContext,
  ): Promise<boolean> {
    return this.engine
      .decide({
        keys,
        names: plan.names,
        rules: plan.rules,
        costs,
        consume: true,
        failureStrategy: plan.failureStrategy,
        leases: plan.leases,
      })
      .then((decision) => this.answer(decision, plan, context));
  }

  /** Each limit's bucket key; an identity shared by several limits is resolved once. */
  private keysOf(plan: RoutePlan, context: ExecutionContext): string[] | Promise<string[]> {
    const { limits } = plan;
    if (limits.length === 1) {
      const planned = limits[0]!;
      const identity = this.inputs.identity(planned.identity, context);
      return typeof identity === 'string'
        ? [bucketKey(planned.keyHead, identity)]
        : identity.then((value) => [bucketKey(planned.keyHead, value)]);
    }
    const identities = new Map<unknown, string | Promise<string>>();
    const keyParts: (string | Promise<string>)[] = limits.map((planned) => {
      let identity = identities.get(planned.identity);
      if (identity === undefined) {
        identity = this.inputs.identity(planned.identity, context);
        identities.set(planned.identity, identity);
      }
      return typeof identity === 'string'
        ? bucketKey(planned.keyHead, identity)
        : identity.then((value) => bucketKey(planned.keyHead, value));
    });
    return keyParts.some((part) => typeof part !== 'string')
      ? // eslint-disable-next-line @typescript-eslint/await-thenable -- mixed strings and promises
        Promise.all(keyParts)
      : (keyParts as string[]);
  }

  private answer(decision: RateLimitDecision, plan: RoutePlan, context: ExecutionContext): true {
    const response: unknown = context.switchToHttp().getResponse();
    const adapter = this.adapterHost.httpAdapter;
    if (decision.storeError !== undefined && decision.failureStrategy !== 'local') {
      if (decision.allowed) return true;
      adapter.setHeader(response, 'Retry-After', '1');
      throw new RateLimitUnavailableException(decision.storeError);
    }
    if (this.engine.options.headers) {
      adapter.setHeader(response, 'RateLimit-Policy', plan.policy);
      adapter.setHeader(response, 'RateLimit', rateLimitHeader(decision.limits));
    }
    if (decision.allowed) return true;
    const retryAfter = retryAfterSeconds(decision.retryAfterMs);
    if (retryAfter !== undefined) adapter.setHeader(response, 'Retry-After', String(retryAfter));
    throw new TooManyRequestsException(retryAfter ?? -1);
  }

  private async applicable(plan: RoutePlan, context: ExecutionContext): Promise<RoutePlan> {
    const applies = await Promise.all(
      plan.rules.map((limit) => this.inputs.applies(limit, context)),
    );
    return planLimits(plan.limits.filter((_, i) => applies[i]));
  }

  private planFor(context: ExecutionContext): RoutePlan | null {
    const controller = context.getClass() as ControllerClass;
    const handler = context.getHandler() as Handler;
    let byHandler = this.plans.get(controller);
    if (byHandler === undefined) {
      byHandler = new Map();
      this.plans.set(controller, byHandler);
    }
    let plan = byHandler.get(handler);
    if (plan === undefined) {
      plan = this.buildPlan(controller, handler);
      byHandler.set(handler, plan);
    }
    return plan;
  }

  private buildPlan(controller: ControllerClass, handler: Handler): RoutePlan | null {
    const targets = [handler, controller];
    if (this.reflector.getAllAndOverride(SkipMetadata, targets) === true) return null;
    const limits =
      this.reflector.getAllAndOverride(LimitsMetadata, targets) ??
      this.engine.options.defaultLimits;
    if (limits === undefined) return null;
    return planRoute(limits, `${controller.name}.${handler.name}`, this.engine.options);
  }
}
