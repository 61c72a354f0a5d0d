import { Reflector } from '@nestjs/core';
import {
  ConcurrencyLimit,
  type ConcurrencyLimitOptions,
  RateLimitConfigError,
} from 'nest-redis-rate-limit';
import { MemorySlots } from '../../lib/concurrency/memory-slots.js';
import { resolveConcurrencyLimit } from '../../lib/concurrency/resolve-concurrency-limit.js';
import { ConcurrencyMetadata } from '../../lib/decorators/concurrency-limit.decorator.js';
import { ipIdentity } from '../../lib/keys/identity-resolver.js';

describe('resolveConcurrencyLimit', () => {
  it('applies the defaults', () => {
    expect(resolveConcurrencyLimit({ max: 3 }, 'here')).toEqual({
      name: 'in-flight',
      max: 3,
      leaseMs: 30_000,
      retryAfterMs: 1_000,
      identity: undefined,
      scope: undefined,
      failureStrategy: undefined,
      shadow: undefined,
    });
    const limit = resolveConcurrencyLimit(
      { max: 1, keyBy: 'ip', scope: 'exports', name: 'exports', leaseMs: 2_000, shadow: true },
      'here',
    );
    expect(limit).toMatchObject({ identity: ipIdentity, scope: 'exports', leaseMs: 2_000 });
    expect(Object.isFrozen(limit)).toBe(true);
  });

  it('lists every problem, each naming its option and the value it got', () => {
    const bad = {
      max: 1.5,
      leaseMs: 999,
      retryAfterMs: 0,
      name: 'in flight',
      scope: '{x}',
      failureStrategy: 'maybe',
      shadow: 'yes',
      keyBy: 42,
      capacity: 5,
    } as unknown as ConcurrencyLimitOptions;
    expect(() => resolveConcurrencyLimit(bad, '@ConcurrencyLimit on A.b')).toThrow(
      new RateLimitConfigError('@ConcurrencyLimit on A.b', [
        'capacity is not an option of a concurrency limit (max, keyBy, scope, leaseMs, name, retryAfterMs, failureStrategy, shadow)',
        'max must be an integer from 1 to 100000 (got 1.5)',
        'leaseMs must be an integer from 1000 to 86400000 (a day) (got 999)',
        'retryAfterMs must be an integer from 1 to 86400000 (got 0)',
        'name must be 1-64 characters of A-Z a-z 0-9 _ . - (got "in flight")',
        'scope must be 1-128 characters of A-Z a-z 0-9 _ . : / @ = + - (no braces) (got "{x}")',
        "failureStrategy must be 'open', 'closed' or 'local' (got \"maybe\")",
        'shadow must be a boolean (got "yes")',
        "keyBy must be 'ip', 'user', 'apiKey' or a function (got 42)",
      ]),
    );
  });

  it('requires max, and an object', () => {
    expect(() => resolveConcurrencyLimit({}, 'here')).toThrow(
      'here: max is required: the requests in flight at once per identity (got undefined)',
    );
    expect(() => resolveConcurrencyLimit(2, 'here')).toThrow(
      'here: the limit must be an object { max, keyBy?, scope?, leaseMs? } (got 2)',
    );
  });
});

describe('@ConcurrencyLimit', () => {
  it('leaves the resolved limit on a handler and on a class, for the guard to read', () => {
    @ConcurrencyLimit({ max: 4 })
    class ReportsController {
      @ConcurrencyLimit({ max: 1, keyBy: 'user' })
      build(): void {}
    }
    const handler = Object.getOwnPropertyDescriptor(ReportsController.prototype, 'build')!
      .value as (...args: unknown[]) => unknown;
    const reflector = new Reflector();
    expect(reflector.getAllAndOverride(ConcurrencyMetadata, [handler, ReportsController]).max).toBe(
      1,
    );
    expect(reflector.get(ConcurrencyMetadata, ReportsController).max).toBe(4);
  });

  it('refuses a bad limit when the class loads, naming the handler', () => {
    expect(() => {
      class ReportsController {
        @ConcurrencyLimit({ max: -1 })
        build(): void {}
      }
      return ReportsController;
    }).toThrow(
      '@ConcurrencyLimit on ReportsController.build: max must be an integer from 1 to 100000 (got -1)',
    );
  });

  it('refuses two on one target', () => {
    expect(() => {
      class ReportsController {
        @ConcurrencyLimit({ max: 1 })
        @ConcurrencyLimit({ max: 2 })
        build(): void {}
      }
      return ReportsController;
    }).toThrow(/ReportsController\.build: only one @ConcurrencyLimit per controller or handler/);
  });
});

describe('MemorySlots', () => {
  it('holds at most max per key, frees on release, renews only what it holds', async () => {
    const slots = new MemorySlots();
    expect(await slots.acquire('k', 'a', 2, 60_000)).toEqual({ acquired: true, held: 1 });
    expect(await slots.acquire('k', 'b', 2, 60_000)).toEqual({ acquired: true, held: 2 });
    expect(await slots.acquire('k', 'c', 2, 60_000)).toEqual({ acquired: false, held: 2 });
    expect(await slots.acquire('other', 'c', 2, 60_000)).toEqual({ acquired: true, held: 1 });
    expect(await slots.renew('k', 'a', 60_000)).toBe(true);
    expect(await slots.renew('k', 'c', 60_000)).toBe(false);
    await slots.release('k', 'a');
    await slots.release('k', 'a');
    expect(await slots.acquire('k', 'c', 2, 60_000)).toEqual({ acquired: true, held: 2 });
    await slots.release('k', 'b');
    await slots.release('k', 'c');
    await slots.release('other', 'c');
    expect(slots.size).toBe(0);
  });

  it('a slot past its lease is gone', async () => {
    const slots = new MemorySlots();
    await slots.acquire('k', 'a', 1, 0);
    expect(await slots.renew('k', 'a', 60_000)).toBe(false);
    expect(await slots.acquire('k', 'b', 1, 60_000)).toEqual({ acquired: true, held: 1 });
  });
});
