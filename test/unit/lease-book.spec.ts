import type {
  BucketRequest,
  BucketResult,
  BucketRule,
} from '../../lib/algorithms/algorithm.interface.js';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import { LeaseBook } from '../../lib/pipeline/lease-book.js';
import { repliesOf, resultOf } from '../support/bucket-results.js';

const RULE: BucketRule = { algorithm: tokenBucket, capacity: 100, usPerToken: 1_000 };
const LEASE = { tokens: 10, ttlMs: 1_000 };
/** A bucket of a leasing limit, at `cost`. */
const request = (key: string, cost = 1): BucketRequest => ({
  key,
  rule: RULE,
  cost,
  lease: LEASE,
});
/** A lease-mode result for one bucket that passed: [remaining, 50, 0] plus `granted`. */
const passed = (remaining: number, granted: number): BucketResult =>
  resultOf([remaining, 50, 0], RULE.capacity, granted);

describe('LeaseBook', () => {
  it('asks nothing for a key seen for the first time, then tops the lease up to its size', () => {
    const book = new LeaseBook();
    expect(book.wanted(request('k'), 0)).toBe(0);
    expect(repliesOf(book.grant([request('k')], [passed(99, 0)], 0))).toEqual([[99, 50, 0]]);
    expect(book.wanted(request('k'), 10)).toBe(10);
    expect(repliesOf(book.grant([request('k')], [passed(88, 10)], 10))).toEqual([[98, 50, 0]]);
    expect(repliesOf(book.spend([request('k', 3)], 20)!)).toEqual([[95, 50, 0]]);
    expect(book.wanted(request('k'), 20)).toBe(3);
  });

  it('returns results as the request sees them: the limit, granted tokens counted in remaining', () => {
    const book = new LeaseBook();
    book.grant([request('k')], [passed(99, 0)], 0);
    expect(book.grant([request('k')], [passed(88, 10)], 10)).toEqual([
      { limit: 100, remaining: 98, resetMs: 50, retryAfterMs: 0, granted: 0 },
    ]);
    expect(book.spend([request('k', 3)], 20)).toEqual([
      { limit: 100, remaining: 95, resetMs: 50, retryAfterMs: 0, granted: 0 },
    ]);
  });

  it('spends only when every bucket holds its cost, and nothing otherwise', () => {
    const book = new LeaseBook();
    for (const key of ['a', 'b']) book.grant([request(key)], [passed(99, 0)], 0);
    book.grant([request('a'), request('b')], [passed(80, 10), passed(90, 2)], 1);
    expect(book.spend([request('a', 3), request('b', 3)], 2)).toBeUndefined();
    expect(repliesOf(book.spend([request('a', 3), request('b', 2)], 2)!)).toEqual([
      [87, 50, 0],
      [90, 50, 0],
    ]);
  });

  it('records nothing for a denied request', () => {
    const book = new LeaseBook();
    book.grant([request('k')], [resultOf([0, 50, 40], RULE.capacity, 0)], 0);
    expect(book.size).toBe(0);
  });

  it('gives back the tokens of expired leases, once', () => {
    const book = new LeaseBook();
    book.grant([request('k')], [passed(99, 0)], 0);
    book.grant([request('k')], [passed(88, 10)], 100);
    book.spend([request('k', 4)], 200);
    expect(book.takeExpired(1_099)).toEqual([]);
    expect(book.takeExpired(1_100)).toEqual([{ key: 'k', rule: RULE, cost: 6 }]);
    expect(book.takeExpired(Number.POSITIVE_INFINITY)).toEqual([]);
    expect(book.spend([request('k')], 1_200)).toBeUndefined();
  });

  it('marks at most maxKeys keys as seen, but always keeps granted tokens', () => {
    const book = new LeaseBook(2);
    for (const key of ['a', 'b', 'c', 'd']) book.grant([request(key)], [passed(99, 0)], 0);
    expect(book.size).toBe(2);
    book.grant([request('a')], [passed(80, 10)], 1);
    expect(book.size).toBe(2);
    expect(repliesOf(book.spend([request('a')], 2)!)).toEqual([[89, 50, 0]]);
  });
});
