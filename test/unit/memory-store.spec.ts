import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import type { BucketRule } from '../../lib/algorithms/algorithm.interface.js';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import { resolveLimits } from '../../lib/options/resolve-limits.js';
import { queryOf, repliesOf } from '../support/bucket-results.js';
import { FakeClock } from '../support/fake-clock.js';

const RULE: BucketRule = { algorithm: tokenBucket, capacity: 2, usPerToken: 1_000_000 };

describe('MemoryRateLimitStore memory bounds', () => {
  let clock: FakeClock;
  let store: MemoryRateLimitStore;

  const open = (maxKeys = 1_000) => {
    store = new MemoryRateLimitStore(maxKeys, clock);
    return store;
  };
  const take = (key: string, cost: number, consume: boolean) =>
    store.take(queryOf([{ key, rule: RULE, cost }], consume));
  const takeOne = (key: string) => take(key, 1, true);
  const remaining = async (key: string) => (await take(key, 1, false)).results[0]!.remaining;

  beforeEach(() => {
    clock = new FakeClock();
  });
  afterEach(() => store.close());

  it('holds no entry for a full bucket: peeks and cost 0 write nothing', async () => {
    open();
    await take('a', 1, false);
    await take('a', 0, true);
    await take('a', 3, true);
    expect(store.size).toBe(0);
  });

  it('sweep() drops buckets that are full again and keeps the others', async () => {
    open();
    await takeOne('a');
    await take('b', 2, true);
    clock.advanceUs(1_000_000);
    store.sweep();
    expect(store.size).toBe(1);
    expect(await remaining('b')).toBe(1);
    clock.advanceUs(1_000_000);
    store.sweep();
    expect(store.size).toBe(0);
  });

  it('drops an expired bucket when it is read', async () => {
    open();
    await takeOne('a');
    clock.advanceUs(1_000_000);
    expect(await remaining('a')).toBe(2);
    expect(store.size).toBe(0);
  });

  it('keeps at most maxKeys buckets, evicting the least recently written', async () => {
    open(3);
    for (const key of ['k1', 'k2', 'k3']) await takeOne(key);
    await takeOne('k1');
    await takeOne('k4');
    expect(store.size).toBe(3);
    expect(await remaining('k2')).toBe(2);
    expect(await remaining('k1')).toBe(0);
    expect(await remaining('k3')).toBe(1);
    expect(await remaining('k4')).toBe(1);
  });

  it('stays within maxKeys under many identities', async () => {
    open(100);
    for (let i = 0; i < 10_000; i++) await takeOne(`user:${i}`);
    expect(store.size).toBe(100);
  });

  it('resetIdentity() deletes the identity’s buckets under the prefix and no others', async () => {
    open();
    for (const key of [
      'rl:a:x:{user:1}',
      'rl:b:y:{user:1}',
      'rl:a:x:{user:2}',
      'other:a:x:{user:1}',
    ]) {
      await takeOne(key);
    }
    await store.resetIdentity('rl:', 'user:1');
    expect(store.size).toBe(2);
    expect(await remaining('rl:a:x:{user:2}')).toBe(1);
    expect(await remaining('other:a:x:{user:1}')).toBe(1);
  });

  it('close() releases every bucket', async () => {
    open();
    await takeOne('a');
    await store.close();
    expect(store.size).toBe(0);
  });
});

describe('MemoryRateLimitStore with a fractional rate', () => {
  it("'3/s' with capacity 3 leaves 2 tokens after the first request, then 1, then 0", async () => {
    const [rule] = resolveLimits({ capacity: 3, refill: '3/s' }, 'test');
    const store = new MemoryRateLimitStore(10, new FakeClock());
    try {
      const replies = [];
      for (let i = 0; i < 4; i++) {
        const { results } = await store.take(queryOf([{ key: 'k', rule: rule!, cost: 1 }], true));
        replies.push(...repliesOf(results));
      }
      expect(replies).toEqual([
        [2, 334, 0],
        [1, 667, 0],
        [0, 1_001, 0],
        [0, 1_001, 334],
      ]);
    } finally {
      await store.close();
    }
  });
});
