import { EventEmitter } from 'node:events';
import { jest } from '@jest/globals';
import { type ExecutionContext, Logger } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { lastValueFrom, of, throwError } from 'rxjs';
import { RateLimitConfigError, type LimitOptions } from 'nest-redis-rate-limit';
import type { BucketRequest } from '../../lib/algorithms/algorithm.interface.js';
import type { RateLimitDecision } from '../../lib/decision/rate-limit-decision.interface.js';
import { chargeOnOutcome, settleOnHandlerOutcome } from '../../lib/guard/charge-on.js';
import { planRoute } from '../../lib/guard/route-plan.js';
import { resolveLimits } from '../../lib/options/resolve-limits.js';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';
import type { RateLimitEngine } from '../../lib/rate-limit.engine.js';

const OPTIONS = resolveModuleOptions({});

/** An engine that records refunds, or fails them. */
function engineDouble(fail = false) {
  const refunds: (readonly BucketRequest[])[] = [];
  const engine = {
    refund: (requests: readonly BucketRequest[]) => {
      refunds.push(requests);
      return fail ? Promise.reject(new Error('Redis is not connected')) : Promise.resolve();
    },
  } as unknown as RateLimitEngine;
  return { engine, refunds };
}

function planOf(limits: LimitOptions | LimitOptions[]) {
  return planRoute(resolveLimits(limits, 'test'), 'Test.route', OPTIONS);
}

function allowed(names: readonly string[], source: RateLimitDecision['source'] = 'redis') {
  return {
    allowed: true,
    limit: 5,
    remaining: 4,
    resetMs: 0,
    retryAfterMs: 0,
    limits: names.map((name) => ({
      name,
      allowed: true,
      limit: 5,
      remaining: 4,
      resetMs: 0,
      retryAfterMs: 0,
    })),
    source,
  } satisfies RateLimitDecision;
}

/** An RPC call's context (its arguments array identifies the call). */
function rpcContext(): ExecutionContext {
  const context = new ExecutionContextHost([{ pattern: 'x' }, {}]);
  context.setType('rpc');
  return context;
}

/** An HTTP call's context whose response is a Node-like emitter. */
function httpContext() {
  const response = Object.assign(new EventEmitter(), {
    statusCode: 200,
    writableFinished: false,
    destroyed: false,
  });
  const context = new ExecutionContextHost([{ headers: {} }, response]);
  context.setType('http');
  const send = (status: number) => {
    response.statusCode = status;
    response.writableFinished = true;
    response.emit('close');
  };
  return { context, response, send };
}

describe('chargeOn (limit option)', () => {
  it("resolves to 'always' by default and keeps 'success' and 'failure'", () => {
    expect(resolveLimits({ capacity: 1, refill: '1/s' }, 'test')[0]!.chargeOn).toBe('always');
    for (const chargeOn of ['success', 'failure'] as const) {
      expect(resolveLimits({ capacity: 1, refill: '1/s', chargeOn }, 'test')[0]!.chargeOn).toBe(
        chargeOn,
      );
    }
  });

  it('refuses anything else, naming the option and the choices', () => {
    expect(() =>
      resolveLimits({ capacity: 1, refill: '1/s', chargeOn: 'errors' as 'failure' }, 'test'),
    ).toThrow(RateLimitConfigError);
    expect(() =>
      resolveLimits({ capacity: 1, refill: '1/s', chargeOn: 'errors' as 'failure' }, 'test'),
    ).toThrow(/chargeOn must be 'always', 'success' or 'failure' \(got "errors"\)/);
  });
});

describe('chargeOnOutcome', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  const mixed = planOf([
    { name: 'login', capacity: 5, refill: '5/min', chargeOn: 'failure' },
    { name: 'ok', capacity: 5, refill: '5/min', chargeOn: 'success' },
    { name: 'all', capacity: 5, refill: '5/min' },
  ]);
  const identities = ['ip:1', 'ip:1', 'ip:1'];
  const costs = [1, 2, 1];

  it('HTTP: on a status < 400 gives back the charges of chargeOn failure only, once the response is sent', () => {
    const { engine, refunds } = engineDouble();
    const { context, send } = httpContext();
    chargeOnOutcome(engine, context, mixed, identities, costs, allowed(mixed.names));
    expect(refunds).toEqual([]);
    send(201);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]!.map(({ key, cost }) => ({ key, cost }))).toEqual([
      { key: 'rl:Test.route:login:{ip:1}', cost: 1 },
    ]);
  });

  it('HTTP: on a status >= 400 gives back the charges of chargeOn success only', () => {
    const { engine, refunds } = engineDouble();
    const { context, send } = httpContext();
    chargeOnOutcome(engine, context, mixed, identities, costs, allowed(mixed.names));
    send(401);
    expect(refunds.map((requests) => requests.map(({ cost }) => cost))).toEqual([[2]]);
  });

  it('HTTP: keeps the charge when the connection closed before the response was sent', () => {
    const { engine, refunds } = engineDouble();
    const { context, response } = httpContext();
    chargeOnOutcome(engine, context, mixed, identities, costs, allowed(mixed.names));
    response.emit('close');
    expect(refunds).toEqual([]);
  });

  it('gives nothing back where nothing was charged: a denial, a failure strategy, a local decision', () => {
    const { engine, refunds } = engineDouble();
    for (const decision of [
      { ...allowed(mixed.names), allowed: false },
      allowed(mixed.names, 'fail-open'),
      allowed(mixed.names, 'local'),
    ]) {
      const { context, send } = httpContext();
      chargeOnOutcome(engine, context, mixed, identities, costs, decision);
      send(500);
    }
    expect(refunds).toEqual([]);
  });

  it('other transports: a handler that completes is a success, one that throws a failure', async () => {
    const { engine, refunds } = engineDouble();
    const succeeded = rpcContext();
    chargeOnOutcome(engine, succeeded, mixed, identities, costs, allowed(mixed.names));
    await lastValueFrom(settleOnHandlerOutcome(succeeded, of(3)));
    const failed = rpcContext();
    chargeOnOutcome(engine, failed, mixed, identities, costs, allowed(mixed.names));
    await expect(
      lastValueFrom(
        settleOnHandlerOutcome(
          failed,
          throwError(() => new Error('bad input')),
        ),
      ),
    ).rejects.toThrow('bad input');
    expect(refunds.map((requests) => requests.map(({ cost }) => cost))).toEqual([[1], [2]]);
  });

  it('logs a refund the store refused, naming the limit', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { engine } = engineDouble(true);
    const { context, send } = httpContext();
    chargeOnOutcome(engine, context, mixed, identities, costs, allowed(mixed.names));
    send(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/Could not give back the charge of 'login'.*Redis is not connected/),
    );
  });

  it('costs nothing on a route without chargeOn', () => {
    const { engine, refunds } = engineDouble();
    const { context, response, send } = httpContext();
    const plain = planOf({ capacity: 5, refill: '5/min' });
    chargeOnOutcome(engine, context, plain, ['ip:1'], [1], allowed(plain.names));
    expect(response.listenerCount('close')).toBe(0);
    send(500);
    expect(refunds).toEqual([]);
  });
});
