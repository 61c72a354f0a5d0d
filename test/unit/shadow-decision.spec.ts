import { RateLimitConfigError, type RateLimitModuleOptions } from 'nest-redis-rate-limit';
import { buildDecision } from '../../lib/decision/build-decision.js';
import { resolveLimits } from '../../lib/options/resolve-limits.js';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';
import type { Take } from '../../lib/pipeline/decision-layer.interface.js';
import { type BucketReply, resultOf } from '../support/bucket-results.js';

const take = (capacities: readonly number[], replies: readonly BucketReply[]): Take => ({
  results: replies.map((reply, i) => resultOf(reply, capacities[i]!)),
  source: 'redis',
});

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RateLimitConfigError);
    return (error as RateLimitConfigError).problems;
  }
  throw new Error('expected a RateLimitConfigError');
}

describe('buildDecision with limits in shadow mode', () => {
  it('a denying shadow limit lets the request pass, marked shadow, with no wait', () => {
    const decision = buildDecision(
      ['enforced', 'trial'],
      take(
        [10, 2],
        [
          [5, 1_000, 0],
          [0, 60_000, 30_000],
        ],
      ),
      [false, true],
    );
    expect(decision).toMatchObject({
      allowed: true,
      shadow: true,
      retryAfterMs: 0,
      // The headline is still the most restrictive limit: headers show the shadow limit empty.
      limit: 2,
      remaining: 0,
    });
    expect(decision.limits).toEqual([
      { name: 'enforced', allowed: true, limit: 10, remaining: 5, resetMs: 1_000, retryAfterMs: 0 },
      {
        name: 'trial',
        allowed: false,
        limit: 2,
        remaining: 0,
        resetMs: 60_000,
        retryAfterMs: 30_000,
        shadow: true,
      },
    ]);
  });

  it('a denial by an enforced limit takes its wait, not a longer one of a shadow limit', () => {
    const decision = buildDecision(
      ['enforced', 'trial'],
      take(
        [10, 2],
        [
          [0, 10_000, 1_000],
          [0, 60_000, 30_000],
        ],
      ),
      [false, true],
    );
    expect(decision).toMatchObject({ allowed: false, limit: 10, retryAfterMs: 1_000 });
    expect(decision.shadow).toBeUndefined();
  });

  it('an allowed request is not marked shadow', () => {
    const decision = buildDecision(['trial'], take([2], [[1, 1_000, 0]]), [true]);
    expect(decision.allowed).toBe(true);
    expect(decision.shadow).toBeUndefined();
    expect(decision.limits[0]?.shadow).toBe(true);
  });
});

describe('shadow and metrics options', () => {
  it('default: metrics on, no meterProvider, shadow off', () => {
    expect(resolveModuleOptions()).toMatchObject({
      metrics: true,
      meterProvider: undefined,
      shadow: false,
    });
    expect(resolveLimits({ capacity: 1, refill: 1 }, 'here')[0]?.shadow).toBeUndefined();
  });

  it('names each bad value', () => {
    expect(
      problemsOf(() =>
        resolveModuleOptions({
          metrics: 'yes',
          shadow: 1,
          meterProvider: {},
        } as unknown as RateLimitModuleOptions),
      ),
    ).toEqual([
      'metrics must be a boolean (got "yes")',
      'meterProvider must be an OpenTelemetry MeterProvider (with getMeter()) (got {})',
      'shadow must be a boolean (got 1)',
    ]);
    expect(
      problemsOf(() => resolveLimits({ capacity: 1, refill: 1, shadow: 'on' as never }, 'here')),
    ).toEqual(['shadow must be a boolean (got "on")']);
  });

  it('accepts a MeterProvider-shaped object', () => {
    const provider = { getMeter: () => ({}) };
    expect(resolveModuleOptions({ meterProvider: provider }).meterProvider).toBe(provider);
  });
});
