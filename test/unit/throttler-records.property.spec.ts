import { jest } from '@jest/globals';
import fc from 'fast-check';
import { ThrottlerRecords } from '../../lib/throttler/throttler-records.js';
import { FakeClock } from '../support/fake-clock.js';
import { throttler } from '../support/nestjs-throttler.js';

/**
 * The memory side of RateLimitThrottlerStorage (throttler-records.ts, the TypeScript twin of
 * throttler-hit.lua) against @nestjs/throttler's own ThrottlerStorageService, call by call on one
 * fake clock. Throttler's storage reads Date.now(), so Date.now follows the clock.
 *
 * Equal in every field, with one exception: while a call is not blocked, throttler's
 * timeToBlockExpire is the time since a block that has ended (or since 1970), a number <= 0
 * nobody reads; ours is <= 0 too, but where throttler keeps a record that has ended until its
 * sweep (every 60 s), ours, like Redis's expiry, starts afresh. That is also why one key's calls
 * either all block or all don't (blockDuration 0): mixing the two on one record, throttler's
 * answer depends on whether its sweep has run.
 */
const KEYS = ['a', 'b'] as const;
const NAMES = ['default', 'long'] as const;

const call = fc.record({
  advanceMs: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 400 }),
    fc.integer({ min: 400, max: 6_000 }),
    // Right at a second or a window boundary.
    fc.constantFrom(999, 1_000, 1_001, 1_500, 2_000),
  ),
  key: fc.constantFrom(...KEYS),
  name: fc.constantFrom(...NAMES),
  /** Index into the scenario's throttlers. */
  throttler: fc.nat({ max: 3 }),
});

const throttlerConfig = (blocks: boolean) =>
  fc.record({
    ttl: fc.oneof(fc.constantFrom(1_000, 1_500, 2_000, 60_000), fc.integer({ min: 1, max: 5_000 })),
    limit: fc.integer({ min: 1, max: 5 }),
    blockDuration: blocks
      ? fc.oneof(fc.constantFrom(1_000, 2_500, 5_000), fc.integer({ min: 1, max: 6_000 }))
      : fc.constant(0),
  });

const scenario = fc.boolean().chain((blocks) =>
  fc.record({
    throttlers: fc.array(throttlerConfig(blocks), { minLength: 4, maxLength: 4 }),
    calls: fc.array(call, { minLength: 1, maxLength: 80 }),
  }),
);

describe('ThrottlerRecords against @nestjs/throttler ThrottlerStorageService (property)', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('gives the same totalHits, timeToExpire, isBlocked and (while blocked) timeToBlockExpire on any call sequence', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ throttlers, calls }) => {
        const clock = new FakeClock();
        jest.spyOn(Date, 'now').mockImplementation(() => Math.floor(clock.nowUs() / 1000));
        const theirs = new throttler.ThrottlerStorageService();
        const ours = new ThrottlerRecords(1_000, clock);
        try {
          for (const [index, step] of calls.entries()) {
            clock.advanceMs(step.advanceMs);
            const { ttl, limit, blockDuration } = throttlers[step.throttler]!;
            const expected = await theirs.increment(step.key, ttl, limit, blockDuration, step.name);
            const actual = ours.increment({
              key: step.key,
              ttlMs: ttl,
              limit,
              blockDurationMs: blockDuration,
              throttlerName: step.name,
            });
            const comparable = (record: typeof actual) => ({
              call: index,
              totalHits: record.totalHits,
              timeToExpire: record.timeToExpire,
              isBlocked: record.isBlocked,
              timeToBlockExpire:
                record.isBlocked || blockDuration <= 0
                  ? record.timeToBlockExpire
                  : record.timeToBlockExpire <= 0,
            });
            expect(comparable(actual)).toEqual(comparable(expected));
          }
        } finally {
          theirs.onApplicationShutdown();
          ours.clear();
        }
      }),
      { numRuns: 400 },
    );
  });

  it('blocks the call after the limit for blockDuration, then counts afresh', () => {
    const clock = new FakeClock();
    const records = new ThrottlerRecords(10, clock);
    const hit = () =>
      records.increment({
        key: 'k',
        ttlMs: 10_000,
        limit: 2,
        blockDurationMs: 3_000,
        throttlerName: 'default',
      });
    expect(hit()).toMatchObject({ totalHits: 1, timeToExpire: 10, isBlocked: false });
    expect(hit().isBlocked).toBe(false);
    expect(hit()).toEqual({
      totalHits: 3,
      timeToExpire: 10,
      isBlocked: true,
      timeToBlockExpire: 3,
    });
    clock.advanceMs(2_500);
    expect(hit()).toMatchObject({
      totalHits: 3,
      timeToExpire: 8,
      isBlocked: true,
      timeToBlockExpire: 1,
    });
    clock.advanceMs(500);
    expect(hit()).toMatchObject({ totalHits: 1, timeToExpire: 7, isBlocked: false });
  });

  it('holds at most maxKeys records, dropping the least recently written', () => {
    const records = new ThrottlerRecords(3, new FakeClock());
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      records.increment({
        key,
        ttlMs: 60_000,
        limit: 5,
        blockDurationMs: 60_000,
        throttlerName: 'default',
      });
    }
    expect(records.size).toBe(3);
    records.clear();
  });
});
