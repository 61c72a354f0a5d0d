import { type CanActivate, type ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { ResolvedConcurrencyLimit } from './concurrency/resolve-concurrency-limit.js';
import type { RateLimitDecision } from './decision/rate-limit-decision.interface.js';
import { HeadersMetadata } from './decorators/rate-limit-headers.decorator.js';
import { ConcurrencyMetadata } from './decorators/concurrency-limit.decorator.js';
import { LimitsMetadata, SkipMetadata } from './decorators/rate-limit.decorator.js';
import { callOf, recordDecision } from './guard/call-decision.js';
import { chargeOnOutcome, giveBackCharge } from './guard/charge-on.js';
import { wantSlot } from './guard/hold-slot.js';
import { LimitsInForce } from './guard/limits-in-force.js';
import { bucketRequests, planLimits, planRoute, type RoutePlan } from './guard/route-plan.js';
import { RequestInputs } from './guard/request-inputs.js';
import {
  rateLimitHeader,
  resetEpochSeconds,
  retryAfterSeconds,
} from './http/rate-limit-headers.js';
import { toBucketIdentity } from './keys/bucket-identity.js';
import { type IdentityResolver, readsUser } from './keys/identity-resolver.js';
import { type AccessLists, passesLists } from './lists/access-list.js';
import { FAIL_CLOSED_RETRY_AFTER_MS, REPEATED_LOG_INTERVAL_MS } from './options/defaults.js';
import { RATE_LIMIT_LOG_CONTEXT } from './rate-limit.constants.js';
import { RateLimitEngine } from './rate-limit.engine.js';
import { ThrottledLogger } from './throttled-logger.js';
import { isRootField } from './transports/graphql.transport.js';
import { defaultTransports } from './transports/index.js';
import type { RateLimitTransport, TrustProxy } from './transports/transport.interface.js';

type Handler = (...args: unknown[]) => unknown;

/** What the guard does for a handler: its rate limits and its concurrency limit, each if any. */
interface CallPlans {
  readonly rate: RoutePlan | null;
  readonly slots: SlotPlan | null;
}

/** A handler's concurrency limit, with the module's defaults applied. */
interface SlotPlan {
  readonly route: string;
  readonly limit: ResolvedConcurrencyLimit;
  readonly scope: string;
  readonly identity: IdentityResolver;
  /** On a GraphQL field resolver, where it cannot be enforced: an error, never a pass. */
  readonly fieldResolver: boolean;
}
type ControllerClass = abstract new (...args: never[]) => unknown;

/**
 * The calls already judged: Nest runs every guard of one call (global, controller, handler)
 * with the same arguments, so a guard bound several times charges once.
 */
const JUDGED = new WeakSet<object>();

/** Calls whose limits wait for the user the app's own guards attach: finished by the interceptor. */
const DEFERRED = new WeakMap<object, (context: ExecutionContext) => Promise<void>>();

/**
 * Finishes a call the guard deferred (a limit keyed by a user no guard had attached yet); called
 * by RateLimitInterceptor, which runs after every guard. Undefined when nothing was deferred, so
 * the interceptor adds no promise to an ordinary call.
 */
export function finishDeferred(context: ExecutionContext): Promise<void> | undefined {
  const call = callOf(context);
  const finish = DEFERRED.get(call);
  if (finish === undefined) return undefined;
  DEFERRED.delete(call);
  return finish(context);
}

/**
 * Enforces the limits of `@RateLimit` (the handler's over the controller's, else the module's
 * `defaultLimit`) on every transport Nest runs guards for: HTTP routes (Express, Fastify),
 * GraphQL resolvers (Apollo, Mercurius), WebSocket gateways (socket.io, ws) and microservice
 * handlers. Registered globally by default; with `global: false`, use it with
 * `@UseGuards(RateLimitGuard)`. However often it is bound to one call, it charges once.
 *
 * Extension points, each `protected`: `transportFor` (a custom transport), `getTracker` (one
 * identity for every limit of a call), `throwRateLimited` (your own error). See the README.
 *
 * @publicApi
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly plans = new WeakMap<ControllerClass, Map<Handler, CallPlans | null>>();
  private readonly inputs: RequestInputs;
  private readonly transports: Map<string, RateLimitTransport>;
  private readonly logger = new Logger(RATE_LIMIT_LOG_CONTEXT);
  private readonly loggedFallbacks = new Set<string>();
  private readonly factoryLog = new ThrottledLogger(this.logger, REPEATED_LOG_INTERVAL_MS);
  private readonly limitsInForce: LimitsInForce;
  /** The module's allowList and denyList; undefined when it has neither (no check at all). */
  private readonly lists: AccessLists | undefined;

  constructor(
    protected readonly reflector: Reflector,
    protected readonly engine: RateLimitEngine,
    protected readonly adapterHost: HttpAdapterHost,
  ) {
    this.transports = defaultTransports(adapterHost);
    this.limitsInForce = new LimitsInForce(engine.options.memoryStoreMaxKeys);
    const { options } = engine;
    this.lists =
      options.allowList !== undefined || options.denyList !== undefined ? options : undefined;
    this.inputs = new RequestInputs({
      ipv6Subnet: engine.options.ipv6Subnet,
      requestOf: (context) => this.requestOf(context),
    });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const transport = this.transportFor(context);
    if (transport === undefined) return true;
    const call = callOf(context);
    if (JUDGED.has(call)) return true;
    JUDGED.add(call);
    const plans = this.planFor(context);
    if (plans === null) return true;
    const { rate, slots } = plans;
    if (rate !== null) await this.enforce(rate, context, transport, true, slots !== null);
    if (slots !== null) {
      if (slots.fieldResolver) {
        throw await transport.misconfigured(
          `@ConcurrencyLimit on ${slots.route}: a GraphQL field resolver runs once per parent ` +
            'item, without interceptors unless the app turns them on, so a slot could not be held ' +
            'for it; put the limit on the query or mutation',
        );
      }
      wantSlot(context, (later) => this.holdSlot(slots, later, transport));
    }
    return true;
  }

  /**
   * The transport of a context: its request, headers and errors. Override to serve a context
   * type of your own; undefined lets the call through unlimited.
   *
   * @example
   * ```ts
   * protected override transportFor(context: ExecutionContext) {
   *   return context.getType<string>() === 'kafka' ? myKafkaTransport : super.transportFor(context);
   * }
   * ```
   */
  protected transportFor(context: ExecutionContext): RateLimitTransport | undefined {
    return this.transports.get(context.getType<string>());
  }

  /**
   * One identity for every limit of the call, overriding their `keyBy`; undefined (the default):
   * each limit's own `keyBy`.
   *
   * @example
   * ```ts
   * protected override getTracker(context: ExecutionContext) {
   *   return context.switchToHttp().getRequest().headers['x-tenant-id'];
   * }
   * ```
   */
  protected getTracker(
    _context: ExecutionContext,
  ): string | undefined | Promise<string | undefined> {
    return undefined;
  }

  /**
   * Refuses a denied call: by default the transport's error (HTTP 429 TooManyRequestsException,
   * a GraphQL error, a WsException, an RpcException). Headers are set before it is called.
   *
   * @example
   * ```ts
   * protected override async throwRateLimited(context: ExecutionContext, decision: RateLimitDecision) {
   *   throw new HttpException({ error: 'slow down' }, 429);
   * }
   * ```
   */
  protected async throwRateLimited(
    context: ExecutionContext,
    decision: RateLimitDecision,
  ): Promise<never> {
    const own = this.exceptionOf(decision, context);
    if (own !== undefined) throw own;
    const transport = this.transportFor(context);
    const retryAfter = retryAfterSeconds(decision.retryAfterMs) ?? -1;
    throw transport === undefined
      ? new Error('Too Many Requests')
      : await transport.rateLimited(decision, retryAfter);
  }

  /** The module's exceptionFactory's error; undefined: no factory, or none from it (a failure is logged). */
  private exceptionOf(decision: RateLimitDecision, context: ExecutionContext): Error | undefined {
    const factory = this.engine.options.exceptionFactory;
    if (factory === undefined) return undefined;
    let what: string;
    try {
      const error: unknown = factory(decision, context);
      if (error === undefined || error instanceof Error) return error;
      what = `returned ${typeof error}`;
    } catch (error) {
      what = `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    }
    this.factoryLog.error(
      () =>
        `exceptionFactory ${what}; it must return an Error or undefined. Using the default error`,
    );
    return undefined;
  }

  /**
   * Judges the call's rate limits; `withSlot`: a concurrency limit follows, which gets the
   * call's charge back if it refuses the call.
   */
  private async enforce(
    routePlan: RoutePlan,
    context: ExecutionContext,
    transport: RateLimitTransport,
    mayDefer: boolean,
    withSlot: boolean,
  ): Promise<void> {
    let plan = routePlan.conditional ? await this.applicable(routePlan, context) : routePlan;
    if (plan.limits.length === 0) return;
    const tracked = await this.getTracker(context);
    // A tracker may be anything a client sent: made safe for a key like every identity.
    const tracker = tracked === undefined ? undefined : toBucketIdentity(tracked);
    const identities = tracker === undefined ? await this.identities(plan, context) : undefined;
    const missing = identities?.some((identity) => identity === undefined) ?? false;
    if (missing && mayDefer && transport.hasUsers && this.waitsForUser(plan, identities ?? [])) {
      DEFERRED.set(callOf(context), (later) =>
        this.enforce(routePlan, later, transport, false, withSlot),
      );
      return;
    }
    let known: readonly string[] =
      tracker !== undefined
        ? plan.limits.map(() => tracker)
        : await this.withFallback(plan, identities ?? [], context, transport);
    if (
      this.lists !== undefined &&
      (await passesLists(this.lists, this.requestOf(context), known, transport))
    ) {
      return;
    }
    if (plan.perRequest) {
      const inForce = await this.limitsInForce.resolve(plan, known, context);
      if ('refused' in inForce) return this.refuseUnavailable(inForce.refused, context, transport);
      plan = inForce.plan;
      known = inForce.identities;
      if (plan.limits.length === 0) return;
    }
    const costs = await Promise.all(
      plan.limits.map(({ limit }) => this.inputs.cost(limit, context)),
    );
    const decision = await this.engine.decide(plan.names, {
      requests: bucketRequests(plan, known, costs),
      mode: 'consume',
      failureStrategy: plan.failureStrategy,
    });
    recordDecision(context, decision);
    chargeOnOutcome(this.engine, context, plan, known, costs, decision, withSlot);
    const { route } = plan;
    this.engine.observe({ scope: route, route, limits: plan.limits, identities: known, decision });
    await this.answer(decision, plan, context, transport);
  }

  /** Each limit's identity; an identity shared by several limits is resolved once. */
  private identities(plan: RoutePlan, context: ExecutionContext): Promise<(string | undefined)[]> {
    const resolved = new Map<unknown, Promise<string | undefined>>();
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

  /** Whether every missing identity is one the app's own guards may still attach. */
  private waitsForUser(plan: RoutePlan, identities: readonly (string | undefined)[]): boolean {
    return plan.limits.every(
      ({ identity }, i) => identities[i] !== undefined || readsUser(identity),
    );
  }

  /**
   * A missing identity falls back to the IP (logged once per route); where the transport has
   * neither, the limit cannot be enforced there: an error naming the handler, never a pass.
   */
  private async withFallback(
    plan: RoutePlan,
    identities: readonly (string | undefined)[],
    context: ExecutionContext,
    transport: RateLimitTransport,
  ): Promise<string[]> {
    const known: string[] = [];
    for (const [i, { limit, identity }] of plan.limits.entries()) {
      const own = identities[i];
      known.push(
        own ??
          (await this.fallback('@RateLimit', plan.route, limit.name, identity, context, transport)),
      );
    }
    return known;
  }

  /** The IP standing in for a limit's missing identity, or the error saying why there is none. */
  private async fallback(
    decorator: '@RateLimit' | '@ConcurrencyLimit',
    route: string,
    name: string,
    identity: IdentityResolver,
    context: ExecutionContext,
    transport: RateLimitTransport,
  ): Promise<string> {
    const ip = readsUser(identity) && !transport.hasUsers ? undefined : this.inputs.ip(context);
    if (ip === undefined) {
      throw await transport.misconfigured(
        `${decorator} on ${route}: limit '${name}' cannot derive an identity in a ${transport.type} context ` +
          `(${readsUser(identity) ? 'no user is attached there' : 'the transport has no client address'}); ` +
          `give it keyBy: a function of the context that returns the caller's identity`,
      );
    }
    if (!this.loggedFallbacks.has(route)) {
      this.loggedFallbacks.add(route);
      this.logger.warn(
        `${route}: limit '${name}' found no user on the request after the app's guards; limiting by IP`,
      );
    }
    return ip;
  }

  /**
   * Takes the call's slot of its concurrency limit (called by RateLimitInterceptor, after every
   * guard); resolves to its release. A refusal gives the call's rate charge back first.
   */
  private async holdSlot(
    plan: SlotPlan,
    context: ExecutionContext,
    transport: RateLimitTransport,
  ): Promise<() => Promise<void>> {
    const tracked = await this.getTracker(context);
    const identity =
      tracked !== undefined
        ? toBucketIdentity(tracked)
        : ((await this.inputs.identity(plan.identity, context)) ??
          (await this.fallback(
            '@ConcurrencyLimit',
            plan.route,
            plan.limit.name,
            plan.identity,
            context,
            transport,
          )));
    if (
      this.lists !== undefined &&
      (await passesLists(this.lists, this.requestOf(context), [identity], transport))
    ) {
      return () => Promise.resolve();
    }
    const decision = await this.engine.acquireSlot(identity, plan.limit, plan.scope, plan.route);
    if (!decision.allowed) {
      giveBackCharge(context);
      await this.refuse(decision, context, transport);
    }
    return decision.release;
  }

  private async answer(
    decision: RateLimitDecision,
    plan: RoutePlan,
    context: ExecutionContext,
    transport: RateLimitTransport,
  ): Promise<void> {
    const failed = decision.storeError !== undefined && decision.failureStrategy !== 'local';
    if (!failed && plan.headers !== false) this.sendHeaders(decision, plan, context, transport);
    if (!decision.allowed) await this.refuse(decision, context, transport);
  }

  /** Refuses a denied call: 429 with Retry-After, or fail-closed's 503 when the store failed. */
  private async refuse(
    decision: RateLimitDecision,
    context: ExecutionContext,
    transport: RateLimitTransport,
  ): Promise<never> {
    if (decision.storeError !== undefined && decision.failureStrategy !== 'local') {
      return this.refuseUnavailable(decision, context, transport);
    }
    const retryAfter = retryAfterSeconds(decision.retryAfterMs);
    if (retryAfter !== undefined) transport.setHeader(context, 'Retry-After', String(retryAfter));
    return this.throwRateLimited(context, decision);
  }

  /** A fail-closed refusal: the transport's 503 equivalent, with Retry-After: 1. */
  private async refuseUnavailable(
    decision: RateLimitDecision,
    context: ExecutionContext,
    transport: RateLimitTransport,
  ): Promise<never> {
    const retryAfter = retryAfterSeconds(FAIL_CLOSED_RETRY_AFTER_MS) ?? 1;
    transport.setHeader(context, 'Retry-After', String(retryAfter));
    throw await transport.unavailable(decision, retryAfter);
  }

  /** The headers of `plan.headers`: the draft-10 fields, the legacy X-RateLimit-* ones, or both. */
  private sendHeaders(
    decision: RateLimitDecision,
    plan: RoutePlan,
    context: ExecutionContext,
    transport: RateLimitTransport,
  ): void {
    if (plan.headers !== 'legacy') {
      transport.setHeader(context, 'RateLimit-Policy', plan.policy);
      transport.setHeader(context, 'RateLimit', rateLimitHeader(decision.limits));
    }
    if (plan.headers !== 'draft-10') {
      const reset = resetEpochSeconds(decision.resetMs, Date.now());
      transport.setHeader(context, 'X-RateLimit-Limit', String(decision.limit));
      transport.setHeader(context, 'X-RateLimit-Remaining', String(decision.remaining));
      transport.setHeader(context, 'X-RateLimit-Reset', String(reset));
    }
  }

  private async applicable(plan: RoutePlan, context: ExecutionContext): Promise<RoutePlan> {
    const applies = await Promise.all(
      plan.limits.map(({ limit }) => this.inputs.applies(limit, context)),
    );
    return planLimits(
      plan.limits.filter((_, i) => applies[i]),
      plan.headers,
      plan.route,
    );
  }

  private requestOf(context: ExecutionContext) {
    const transport = this.transportFor(context) ?? this.transports.get('http')!;
    this.trust ??= { proxy: this.trustProxy() };
    return transport.request(context, this.trust.proxy);
  }

  /** Read once, at the first call: the HTTP app is configured by then. */
  private trust: { readonly proxy: TrustProxy | undefined } | undefined;

  /** Express's compiled `trust proxy` setting, for transports that read forwarded headers. */
  private trustProxy(): TrustProxy | undefined {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() !== 'express') return undefined;
    const app = adapter.getInstance<{ get(setting: string): unknown }>();
    const trust = app.get('trust proxy fn');
    return typeof trust === 'function' ? (trust as TrustProxy) : undefined;
  }

  private planFor(context: ExecutionContext): CallPlans | null {
    const controller = context.getClass() as ControllerClass;
    const handler = context.getHandler() as Handler;
    let byHandler = this.plans.get(controller);
    if (byHandler === undefined) {
      byHandler = new Map();
      this.plans.set(controller, byHandler);
    }
    let plan = byHandler.get(handler);
    if (plan === undefined) {
      plan = this.buildPlan(controller, handler, context);
      byHandler.set(handler, plan);
    }
    return plan;
  }

  private buildPlan(
    controller: ControllerClass,
    handler: Handler,
    context: ExecutionContext,
  ): CallPlans | null {
    const targets = [handler, controller];
    if (this.reflector.getAllAndOverride(SkipMetadata, targets) === true) return null;
    const { options } = this.engine;
    const route = `${controller.name}.${handler.name}`;
    // A GraphQL field resolver is limited only by its own decorators: a class's limits and the
    // module's default are for the operations (root fields).
    const fieldResolver = context.getType<string>() === 'graphql' && !isRootField(context);
    const limits = fieldResolver
      ? this.reflector.get(LimitsMetadata, handler)
      : (this.reflector.getAllAndOverride(LimitsMetadata, targets) ?? options.defaultLimits);
    const concurrency = fieldResolver
      ? this.reflector.get(ConcurrencyMetadata, handler)
      : this.reflector.getAllAndOverride(ConcurrencyMetadata, targets);
    if (limits === undefined && concurrency === undefined) return null;
    const rate =
      limits === undefined
        ? null
        : planRoute(
            limits,
            route,
            options,
            this.reflector.getAllAndOverride(HeadersMetadata, targets) ?? options.headers,
          );
    const slots =
      concurrency === undefined
        ? null
        : {
            route,
            limit: concurrency,
            scope: concurrency.scope ?? route,
            identity: concurrency.identity ?? options.identity,
            fieldResolver,
          };
    return { rate, slots };
  }
}
