import { LeaseBook } from '../../lib/lease/lease-book.js';

const RULE = { capacity: 100, usPerToken: 1_000 };
const LEASE = { tokens: 10, ttlMs: 1_000 };
/** A lease-mode reply for one bucket that passed: [remaining, resetMs, retryAfterMs, granted]. */
const passed = (remaining: number, granted: number) => [remaining, 50, 0, granted];

describe('LeaseBook', () => {
  it('asks nothing for a key seen for the first time, then tops the lease up to its size', () => {
    const book = new LeaseBook();
    expect(book.wanted(['k'], [LEASE], 0)).toEqual([0]);
    expect(book.grant(['k'], [RULE], [LEASE], passed(99, 0), 0)).toEqual([99, 50, 0]);
    expect(book.wanted(['k'], [LEASE], 10)).toEqual([10]);
    expect(book.grant(['k'], [RULE], [LEASE], passed(88, 10), 10)).toEqual([98, 50, 0]);
    expect(book.spend(['k'], [3], 20)).toEqual([95, 50, 0]);
    expect(book.wanted(['k'], [LEASE], 20)).toEqual([3]);
  });

  it('spends only when every bucket holds its cost, and nothing otherwise', () => {
    const book = new LeaseBook();
    for (const key of ['a', 'b']) book.grant([key], [RULE], [LEASE], passed(99, 0), 0);
    book.grant(['a', 'b'], [RULE, RULE], [LEASE, LEASE], [...passed(80, 10), ...passed(90, 2)], 1);
    expect(book.spend(['a', 'b'], [3, 3], 2)).toBeUndefined();
    expect(book.spend(['a', 'b'], [3, 2], 2)).toEqual([87, 50, 0, 90, 50, 0]);
  });

  it('records nothing for a denied request', () => {
    const book = new LeaseBook();
    book.grant(['k'], [RULE], [LEASE], [0, 50, 40, 0], 0);
    expect(book.size).toBe(0);
  });

  it('gives back the tokens of expired leases, once', () => {
    const book = new LeaseBook();
    book.grant(['k'], [RULE], [LEASE], passed(99, 0), 0);
    book.grant(['k'], [RULE], [LEASE], passed(88, 10), 100);
    book.spend(['k'], [4], 200);
    expect(book.takeExpired(1_099)).toEqual({ keys: [], rules: [], tokens: [] });
    expect(book.takeExpired(1_100)).toEqual({ keys: ['k'], rules: [RULE], tokens: [6] });
    expect(book.takeExpired(Number.POSITIVE_INFINITY).keys).toEqual([]);
    expect(book.spend(['k'], [1], 1_200)).toBeUndefined();
  });

  it('marks at most maxKeys keys as seen, but always keeps granted tokens', () => {
    const book = new LeaseBook(2);
    for (const key of ['a', 'b', 'c', 'd']) book.grant([key], [RULE], [LEASE], passed(99, 0), 0);
    expect(book.size).toBe(2);
    book.grant(['a'], [RULE], [LEASE], passed(80, 10), 1);
    expect(book.size).toBe(2);
    expect(book.spend(['a'], [1], 2)).toEqual([89, 50, 0]);
  });
});
