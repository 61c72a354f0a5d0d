import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { RateLimitDecision } from './decision/rate-limit-decision.interface.js';
import { LimitsMetadata, SkipMetadata } from './decorators/rate-limit.decorator.js';
import { bucketRequests, planLimits, planRoute, type RoutePlan } from './guard/route-plan.js';
import { RequestInputs } from './guard/request-inputs.js';
import { rateLimitHeader, retryAfterSeconds } from './http/rate-limit-headers.js';
import { RateLimitUnavailableException } from './http/rate-limit-unavailable.exception.js';
import { TooManyRequestsException } from './http/too-many-requests.exception.js';
import { FAIL_CLOSED_RETRY_AFTER_MS } from './options/defaults.js';
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
    protected readonly reflector: Reflector,
    protected readonly engine: RateLimitEngine,
    protected readonly adapterHost: HttpAdapterHost,
  ) {
    this.inputs = new RequestInputs(engine.options);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const routePlan = this.planFor(context);
    if (routePlan === null) return true;
    const plan = routePlan.conditional ? await this.applicable(routePlan, context) : routePlan;
    if (plan.limits.length === 0) return true;
    const [identities, costs] = await Promise.all([
      this.identities(plan, context),
      Promise.all(plan.limits.map(({ limit }) => this.inputs.cost(limit, context))),
    ]);
    const decision = await this.engine.decide(plan.names, {
      requests: bucketRequests(plan, identities, costs),
      mode: 'consume',
      failureStrategy: plan.failureStrategy,
    });
    return this.answer(decision, plan, context);
  }

  /** Each limit's identity; an identity shared by several limits is resolved once. */
  private identities(plan: RoutePlan, context: ExecutionContext): Promise<string[]> {
    const resolved = new Map<unknown, string | Promise<string>>();
    return Promise.all(
      plan.limits.map(({ identity }) => {
        let value = resolved.get(identity);
        if (value === undefined) {
          value = this.inputs.identity(identity, context);
          resolved.set(identity, value);
        }
        return value;
      }),
    );
  }

  private answer(decision: RateLimitDecision, plan: RoutePlan, context: ExecutionContext): true {
    const response: unknown = context.switchToHttp().getResponse();
    const adapter = this.adapterHost.httpAdapter;
    if (decision.storeError !== undefined && decision.failureStrategy !== 'local') {
      if (decision.allowed) return true;
      adapter.setHeader(
        response,
        'Retry-After',
        String(retryAfterSeconds(FAIL_CLOSED_RETRY_AFTER_MS)),
      );
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
      plan.limits.map(({ limit }) => this.inputs.applies(limit, context)),
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
