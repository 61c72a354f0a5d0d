import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import { HOUR_US, MINUTE_US, START_US } from '../../lib/algorithms/algorithm.cases.js';
import type { BucketRule } from '../../lib/algorithms/algorithm.interface.js';
import { fixedWindow } from '../../lib/algorithms/fixed-window/fixed-window.js';
import { slidingWindow } from '../../lib/algorithms/sliding-window/sliding-window.js';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import type { DecisionLayer } from '../../lib/pipeline/decision-layer.interface.js';
import { type BucketReply, queryOf, repliesOf } from '../support/bucket-results.js';
import { FakeClock } from '../support/fake-clock.js';
import { LuaAtClock } from '../support/lua-at-clock.js';

const bucket: BucketRule = { algorithm: tokenBucket, capacity: 2, usPerToken: HOUR_US };
const fixed = (windowUs: number): BucketRule => ({ algorithm: fixedWindow, capacity: 3, windowUs });
const sliding = (windowUs: number): BucketRule => ({
  algorithm: slidingWindow,
  capacity: 3,
  windowUs,
});

/**
 * A limit whose algorithm or window changes while keeping its name and scope keeps its key: what
 * another algorithm (or the same under another window) wrote there must not read as a count. On
 * the memory store and on Redis (the script at the test's clock). On Redis a fixed window's count
 * is told by its key's expiry, which does not say the window's length: read under another
 * windowMs it counts only when it expires at the end of this window or the next (below), never at
 * 10 minutes past the hour as here.
 */
describe.each([
  ['memory store', (clock: FakeClock) => new MemoryRateLimitStore(100, clock)],
  ['Redis', (clock: FakeClock) => new LuaAtClock(redis, clock)],
] as const)('a limit that changes algorithm or window on one key (%s)', (_name, open) => {
  let clock: FakeClock;
  let store: DecisionLayer;
  let key: string;

  beforeEach(() => {
    clock = new FakeClock(START_US + 10 * MINUTE_US);
    store = open(clock);
    key = `test:${randomUUID()}:switch:{id}`;
  });
  afterEach(() => store.close());

  const take = async (rule: BucketRule, cost = 1): Promise<BucketReply> =>
    repliesOf((await store.take(queryOf([{ key, rule, cost }], true))).results)[0]!;
  const peek = async (rule: BucketRule): Promise<BucketReply> =>
    repliesOf((await store.take(queryOf([{ key, rule, cost: 1 }], false))).results)[0]!;

  it('each algorithm reads what another wrote as no state at all', async () => {
    expect(await take(bucket, 2)).toEqual([0, 7_200_000, 0]);
    expect(await peek(fixed(HOUR_US))).toEqual([3, 0, 0]);
    expect(await peek(sliding(HOUR_US))).toEqual([3, 0, 0]);
    expect(await take(fixed(HOUR_US), 2)).toEqual([1, 3_000_000, 0]);
    expect(await peek(bucket)).toEqual([2, 0, 0]);
    expect(await peek(sliding(HOUR_US))).toEqual([3, 0, 0]);
    expect(await take(sliding(HOUR_US), 2)).toEqual([1, 6_600_000, 0]);
    expect(await peek(bucket)).toEqual([2, 0, 0]);
    expect(await peek(fixed(HOUR_US))).toEqual([3, 0, 0]);
  });

  it.each([
    ['fixed', fixed],
    ['sliding', sliding],
  ] as const)('a %s window read under another windowMs counts for nothing', async (_kind, rule) => {
    expect((await take(rule(HOUR_US), 3))[0]).toBe(0);
    expect(await peek(rule(MINUTE_US))).toEqual([3, 0, 0]);
    expect(await take(rule(MINUTE_US))).toEqual([2, rule === fixed ? 60_000 : 120_000, 0]);
    // and back: the minute's count means nothing to the hour
    expect(await peek(rule(HOUR_US))).toEqual([3, 0, 0]);
  });
});

/**
 * The memory store keeps a count's windowMs and reads such a count as nothing; the script can only
 * compare expiries, so it may deny more for up to two windows after a change, never admit more.
 */
describe("on Redis, a fixed window's count under another windowMs", () => {
  it('counts only when its key expires at the end of this window or the next, until then', async () => {
    const key = `test:${randomUUID()}:switch:{id}`;
    const clock = new FakeClock(START_US + 58 * MINUTE_US + 30_000_000);
    const store = new LuaAtClock(redis, clock);
    const take = async (rule: BucketRule, cost: number, consume = true): Promise<BucketReply> =>
      repliesOf((await store.take(queryOf([{ key, rule, cost }], consume))).results)[0]!;
    // the hour's count expires at the hour's end: the end of the minute after this one
    expect(await take(fixed(HOUR_US), 3)).toEqual([0, 90_000, 0]);
    expect(await take(fixed(MINUTE_US), 1, false)).toEqual([0, 90_000, 90_000]);
    clock.advanceUs(MINUTE_US);
    expect(await take(fixed(MINUTE_US), 1, false)).toEqual([0, 30_000, 30_000]);
    // the hour has ended, and its count with it
    clock.advanceUs(30_000_000);
    expect(await take(fixed(MINUTE_US), 1)).toEqual([2, 60_000, 0]);
    // and a minute's count, expiring at no hour's end, means nothing to the hour
    expect(await take(fixed(HOUR_US), 1, false)).toEqual([3, 0, 0]);
  });
});

let redis: Redis;
beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL!);
});
afterAll(() => redis.disconnect());
