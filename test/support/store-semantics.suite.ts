import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type LimitOptions,
  type RateLimitModuleOptions,
  RateLimitService,
  type RateLimitStore,
} from 'nest-redis-rate-limit';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';
import { RateLimitEngine } from '../../lib/rate-limit.engine.js';
import { takeFlat } from './flat-take.js';

const HOUR_US = 3_600_000_000;
const slow = (capacity: number) => ({ capacity, usPerToken: HOUR_US });

/** A store under test and how to let it go. */
export interface StoreHarness {
  readonly store: RateLimitStore;
  /** Module options that put a service on the same kind of store (its `redis`, if any). */
  readonly moduleOptions: RateLimitModuleOptions;
  close(): Promise<void>;
}

/**
 * The semantics every store must have, as one suite: run over Redis, the memory store
 * (store-semantics.int-spec.ts) and a Redis Cluster (cluster.int-spec.ts).
 */
export function describeStoreSemantics(name: string, open: () => Promise<StoreHarness>): void {
  describe(`store semantics: ${name}`, () => {
    let harness: StoreHarness;
    let store: RateLimitStore;
    let prefix: string;
    let service: RateLimitService;
    let engine: RateLimitEngine;

    beforeAll(async () => {
      harness = await open();
      store = harness.store;
    });
    afterAll(() => harness.close());
    beforeEach(() => {
      prefix = `test:${randomUUID()}:`;
      engine = new RateLimitEngine(
        resolveModuleOptions({ ...harness.moduleOptions, keyPrefix: prefix }),
      );
      service = new RateLimitService(engine);
    });
    afterEach(() => engine.onModuleDestroy());

    const key = (name = 'k') => `${prefix}${name}:{id}`;

    it('a new bucket starts full', async () => {
      await expect(takeFlat(store, [key()], [slow(7)], [1], false)).resolves.toEqual([7, 0, 0]);
    });

    it('passes a burst of capacity, then denies with about one token time to wait', async () => {
      const rule = { capacity: 5, usPerToken: 1_000_000 };
      for (let i = 4; i >= 0; i--) {
        expect((await takeFlat(store, [key()], [rule], [1], true))[0]).toBe(i);
      }
      const [remaining, resetMs, retryAfterMs] = await takeFlat(store, [key()], [rule], [1], true);
      expect(remaining).toBe(0);
      expect(resetMs).toBeGreaterThan(4_500);
      expect(resetMs).toBeLessThanOrEqual(5_000);
      expect(retryAfterMs).toBeGreaterThan(500);
      expect(retryAfterMs).toBeLessThanOrEqual(1_000);
    });

    it('denied requests consume nothing: the wait never grows', async () => {
      await takeFlat(store, [key()], [slow(2)], [2], true);
      let previousWaitMs = Infinity;
      for (let i = 0; i < 10; i++) {
        const [, , retryAfterMs] = await takeFlat(store, [key()], [slow(2)], [1], true);
        expect(retryAfterMs).toBeGreaterThan(3_590_000);
        expect(retryAfterMs).toBeLessThanOrEqual(previousWaitMs);
        previousWaitMs = retryAfterMs!;
      }
    });

    it('a denied request leaves a fast bucket to refill on time', async () => {
      const rule = { capacity: 1, usPerToken: 200_000 };
      await takeFlat(store, [key()], [rule], [1], true);
      for (let i = 0; i < 20; i++) await takeFlat(store, [key()], [rule], [1], true);
      await sleep(260);
      const [, , retryAfterMs] = await takeFlat(store, [key()], [rule], [1], true);
      expect(retryAfterMs).toBe(0);
    });

    it('all-or-nothing: when one limit denies, the other keeps its tokens', async () => {
      const keys = [key('a'), key('b')];
      const rules = [slow(5), slow(1)];
      // one call over both buckets: on a Cluster too, since they share the identity's slot
      await expect(takeFlat(store, keys, rules, [1, 1], true)).resolves.toEqual([
        4, 3_600_000, 0, 0, 3_600_000, 0,
      ]);
      const denied = await takeFlat(store, keys, rules, [1, 1], true);
      expect(denied[5]).toBeGreaterThan(3_590_000);
      await expect(takeFlat(store, [key('a')], [slow(5)], [1], false)).resolves.toEqual([
        4,
        expect.any(Number),
        0,
      ]);
    });

    it('retryAfterMs of a decision is the longest wait among the denying limits', async () => {
      const limits: LimitOptions[] = [
        { name: 'minute', capacity: 1, refill: '1/min' },
        { name: 'hour', capacity: 1, refill: '1/hour' },
        { name: 'roomy', capacity: 100, refill: '1/hour' },
      ];
      await service.consume('user:1', limits);
      const decision = await service.consume('user:1', limits);
      expect(decision.allowed).toBe(false);
      expect(decision.retryAfterMs).toBeGreaterThan(3_590_000);
      expect(decision.retryAfterMs).toBeLessThanOrEqual(3_600_000);
      expect(decision.limits.map((limit) => limit.allowed)).toEqual([false, false, true]);
      expect(decision.limits[0]!.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect(decision.limits[2]!.remaining).toBe(99);
    });

    it('a cost above capacity is denied with retryAfterMs -1 and consumes nothing', async () => {
      const limit: LimitOptions = { capacity: 3, refill: '1/hour' };
      const decision = await service.consume('user:1', limit, 4);
      expect(decision).toMatchObject({ allowed: false, retryAfterMs: -1, remaining: 3 });
      await expect(service.peek('user:1', limit)).resolves.toMatchObject({ remaining: 3 });
    });

    it('refills continuously and stops at capacity', async () => {
      const rule = { capacity: 4, usPerToken: 50_000 };
      await takeFlat(store, [key()], [rule], [4], true);
      await sleep(110);
      const [partly] = await takeFlat(store, [key()], [rule], [1], false);
      expect(partly).toBeGreaterThanOrEqual(2);
      expect(partly).toBeLessThanOrEqual(4);
      await sleep(400);
      await expect(takeFlat(store, [key()], [rule], [1], false)).resolves.toEqual([4, 0, 0]);
      await expect(takeFlat(store, [key()], [rule], [4], true)).resolves.toEqual([0, 200, 0]);
      const [, , retryAfterMs] = await takeFlat(store, [key()], [rule], [1], true);
      expect(retryAfterMs).toBeGreaterThan(0);
    });

    it('peek() consumes nothing and reset(key, limits) refills those buckets', async () => {
      const limit: LimitOptions = { capacity: 5, refill: '5/hour' };
      await service.consume('user:1', limit, 3);
      await expect(service.peek('user:1', limit)).resolves.toMatchObject({
        allowed: true,
        remaining: 2,
      });
      await expect(service.peek('user:1', limit)).resolves.toMatchObject({ remaining: 2 });
      await service.reset('user:1', limit);
      await expect(service.peek('user:1', limit)).resolves.toMatchObject({
        remaining: 5,
        resetMs: 0,
      });
    });

    it('reset(key) refills every bucket of that identity and no other', async () => {
      const limits: LimitOptions[] = [
        { name: 'a', capacity: 2, refill: '1/hour' },
        { name: 'b', capacity: 3, refill: '1/hour', scope: 'other' },
      ];
      await service.consume('user:1', limits);
      await service.consume('user:2', limits);
      await service.reset('user:1');
      const one = await service.peek('user:1', limits);
      const two = await service.peek('user:2', limits);
      expect(one.limits.map((limit) => limit.remaining)).toEqual([2, 3]);
      expect(two.limits.map((limit) => limit.remaining)).toEqual([1, 2]);
    });
  });
}
