import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import { FakeClock } from '../support/fake-clock.js';

const RULE = { capacity: 2, usPerToken: 1_000_000 };

describe('MemoryRateLimitStore memory bounds', () => {
  let clock: FakeClock;
  let store: MemoryRateLimitStore;

  const open = (maxKeys = 1_000) => {
    store = new MemoryRateLimitStore(maxKeys, clock);
    return store;
  };
  const takeOne = (key: string) => store.takeNow([key], [RULE], [1], true);
  const remaining = (key: string) => store.takeNow([key], [RULE], [1], false)[0];

  beforeEach(() => {
    clock = new FakeClock();
  });
  afterEach(() => store.onModuleDestroy());

  it('holds no entry for a full bucket: peeks and cost 0 write nothing', () => {
    open();
    store.takeNow(['a'], [RULE], [1], false);
    store.takeNow(['a'], [RULE], [0], true);
    store.takeNow(['a'], [RULE], [3], true);
    expect(store.size).toBe(0);
  });

  it('sweep() drops buckets that are full again and keeps the others', () => {
    open();
    takeOne('a');
    store.takeNow(['b'], [RULE], [2], true);
    clock.advanceUs(1_000_000);
    store.sweep();
    expect(store.size).toBe(1);
    expect(remaining('b')).toBe(1);
    clock.advanceUs(1_000_000);
    store.sweep();
    expect(store.size).toBe(0);
  });

  it('drops an expired bucket when it is read', () => {
    open();
    takeOne('a');
    clock.advanceUs(1_000_000);
    expect(remaining('a')).toBe(2);
    expect(store.size).toBe(0);
  });

  it('keeps at most maxKeys buckets, evicting the least recently written', () => {
    open(3);
    for (const key of ['k1', 'k2', 'k3']) takeOne(key);
    takeOne('k1');
    takeOne('k4');
    expect(store.size).toBe(3);
    expect(remaining('k2')).toBe(2);
    expect(remaining('k1')).toBe(0);
    expect(remaining('k3')).toBe(1);
    expect(remaining('k4')).toBe(1);
  });

  it('stays within maxKeys under many identities', () => {
    open(100);
    for (let i = 0; i < 10_000; i++) takeOne(`user:${i}`);
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
      takeOne(key);
    }
    await store.resetIdentity('rl:', 'user:1');
    expect(store.size).toBe(2);
    expect(remaining('rl:a:x:{user:2}')).toBe(1);
    expect(remaining('other:a:x:{user:1}')).toBe(1);
  });

  it('onModuleDestroy() releases every bucket', () => {
    open();
    takeOne('a');
    store.onModuleDestroy();
    expect(store.size).toBe(0);
  });
});
