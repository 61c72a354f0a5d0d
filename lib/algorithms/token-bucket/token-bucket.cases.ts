/**
 * The token bucket's table of cases (shape and runners: algorithm.cases.ts). The rates are slow
 * (minutes to hours per token), so that on Redis's own clock, replayed up to a case's first step
 * that moves time, nothing refills while a case runs and resetMs/retryAfterMs may only have
 * shrunk by the few ms the round trips took.
 */
import { type AlgorithmCase, HOUR_US, MINUTE_US, peek, refund, take } from '../algorithm.cases.js';
import type { TokenBucketRule } from '../algorithm.interface.js';
import { tokenBucket } from './token-bucket.js';

/** '3/s' and { tokens: 3, intervalMs: 1000 }: 333,333.3 µs per token, resolved to 333,334. */
const THIRD_OF_SECOND_US = 333_334;
/** '7/min': 8,571,428.6 µs per token, resolved to 8,571,429. */
const SEVENTH_OF_MINUTE_US = 8_571_429;
const TWENTY_MIN_US = 20 * MINUTE_US;

/** A token bucket as options/ resolves it: usPerToken in whole µs, rounded up. */
const bucket = (capacity: number, usPerToken: number): TokenBucketRule => ({
  algorithm: tokenBucket,
  capacity,
  usPerToken,
});

export const TOKEN_BUCKET_CASES: readonly AlgorithmCase[] = [
  {
    name: 'a full bucket passes a burst of capacity, then denies with one token time to wait',
    buckets: [bucket(3, TWENTY_MIN_US)],
    steps: [
      take([1], [[2, 1_200_000, 0]]),
      take([1], [[1, 2_400_000, 0]]),
      take([1], [[0, 3_600_000, 0]]),
      take([1], [[0, 3_600_000, 1_200_000]]),
      take([1], [[0, 3_600_000, 1_200_000]]),
      // half a token back: still denied, the wait halves
      take([1], [[0, 3_000_000, 600_000]], TWENTY_MIN_US / 2),
      // a whole token back: passes and empties the bucket again
      take([1], [[0, 3_600_000, 0]], TWENTY_MIN_US / 2),
      // long idle: refill stops at capacity
      take([1], [[2, 1_200_000, 0]], 10 * HOUR_US),
    ],
  },
  {
    name: 'a peek judges cost 1 and consumes nothing',
    buckets: [bucket(2, 30 * MINUTE_US)],
    steps: [
      peek([1], [[2, 0, 0]]),
      take([1], [[1, 1_800_000, 0]]),
      peek([1], [[1, 1_800_000, 0]]),
      peek([1], [[1, 1_800_000, 0]]),
      take([1], [[0, 3_600_000, 0]]),
      peek([1], [[0, 3_600_000, 1_800_000]]),
      take([1], [[0, 3_600_000, 1_800_000]]),
    ],
  },
  {
    name: 'cost 0 always passes and writes nothing',
    buckets: [bucket(2, 30 * MINUTE_US)],
    steps: [
      take([0], [[2, 0, 0]]),
      take([2], [[0, 3_600_000, 0]]),
      take([0], [[0, 3_600_000, 0]]),
      take([1], [[0, 3_600_000, 1_800_000]]),
    ],
  },
  {
    name: 'a cost above capacity is denied with -1 and consumes nothing',
    buckets: [bucket(2, 30 * MINUTE_US)],
    steps: [
      take([3], [[2, 0, -1]]),
      take([1], [[1, 1_800_000, 0]]),
      take([3], [[1, 1_800_000, -1]]),
      peek([3], [[1, 1_800_000, -1]]),
    ],
  },
  {
    name: 'a cost of several tokens waits for all of them',
    buckets: [bucket(3, TWENTY_MIN_US)],
    steps: [
      take([2], [[1, 2_400_000, 0]]),
      take([2], [[1, 2_400_000, 1_200_000]]),
      take([1], [[0, 3_600_000, 0]]),
      take([3], [[0, 3_600_000, 3_600_000]]),
      take([3], [[0, 3_600_000, 0]], 3 * TWENTY_MIN_US),
    ],
  },
  {
    name: 'all-or-nothing: when one bucket denies, the other keeps its tokens',
    buckets: [bucket(5, TWENTY_MIN_US), bucket(1, HOUR_US)],
    steps: [
      take(
        [1, 1],
        [
          [4, 1_200_000, 0],
          [0, 3_600_000, 0],
        ],
      ),
      take(
        [1, 1],
        [
          [4, 1_200_000, 0],
          [0, 3_600_000, 3_600_000],
        ],
      ),
      take(
        [1, 1],
        [
          [4, 1_200_000, 0],
          [0, 3_600_000, 3_600_000],
        ],
      ),
      take(
        [1, 0],
        [
          [3, 2_400_000, 0],
          [0, 3_600_000, 0],
        ],
      ),
      // the first bucket is full again, the second has its token back: both pay
      take(
        [1, 1],
        [
          [4, 1_200_000, 0],
          [0, 3_600_000, 0],
        ],
        HOUR_US,
      ),
    ],
  },
  {
    name: 'each denying bucket reports its own wait; a passing bucket reports 0',
    buckets: [bucket(1, TWENTY_MIN_US), bucket(1, HOUR_US), bucket(10, MINUTE_US)],
    steps: [
      take(
        [1, 1, 1],
        [
          [0, 1_200_000, 0],
          [0, 3_600_000, 0],
          [9, 60_000, 0],
        ],
      ),
      take(
        [1, 1, 1],
        [
          [0, 1_200_000, 1_200_000],
          [0, 3_600_000, 3_600_000],
          [9, 60_000, 0],
        ],
      ),
      // the faster bucket has refilled; the slower one still denies alone
      take(
        [1, 1, 1],
        [
          [1, 0, 0],
          [0, 2_400_000, 2_400_000],
          [10, 0, 0],
        ],
        TWENTY_MIN_US,
      ),
    ],
  },
  {
    name: 'a cost above one capacity denies every bucket of the call',
    buckets: [bucket(2, TWENTY_MIN_US), bucket(5, TWENTY_MIN_US)],
    steps: [
      take(
        [3, 1],
        [
          [2, 0, -1],
          [5, 0, 0],
        ],
      ),
      take(
        [2, 1],
        [
          [0, 2_400_000, 0],
          [4, 1_200_000, 0],
        ],
      ),
    ],
  },
  {
    name: 'tokens return continuously, a fraction at a time',
    buckets: [bucket(10, 1_000_000)],
    steps: [
      take([10], [[0, 10_000, 0]]),
      peek([1], [[0, 9_750, 750]], 250_000),
      peek([1], [[2, 7_500, 0]], 2_250_000),
      take([2], [[0, 9_500, 0]]),
      peek([1], [[10, 0, 0]], 60_000_000),
    ],
  },
  {
    name: "a fractional rate ('3/s') reports every whole token: 2, 1, 0 left, then a third of a second to wait",
    buckets: [bucket(3, THIRD_OF_SECOND_US)],
    steps: [
      take([1], [[2, 334, 0]]),
      take([1], [[1, 667, 0]]),
      take([1], [[0, 1_001, 0]]),
      take([1], [[0, 1_001, 334]]),
      take([1], [[0, 1_001, 0]], THIRD_OF_SECOND_US),
    ],
  },
  {
    name: "a fractional rate ('7/min') passes a whole burst of capacity without drift",
    buckets: [bucket(7, SEVENTH_OF_MINUTE_US)],
    steps: [
      take([1], [[6, 8_572, 0]]),
      take([1], [[5, 17_143, 0]]),
      take([5], [[0, 60_001, 0]]),
      take([1], [[0, 60_001, 8_572]]),
    ],
  },
  {
    name: 'a fractional rate as { tokens: 3, intervalMs: 1000 } with capacity 6 takes a burst of 6',
    buckets: [bucket(6, THIRD_OF_SECOND_US)],
    steps: [peek([1], [[6, 0, 0]]), take([6], [[0, 2_001, 0]]), take([1], [[0, 2_001, 334]])],
  },
  {
    name: 'a refund gives tokens back, never beyond full, and leaves an absent bucket absent',
    buckets: [bucket(4, TWENTY_MIN_US), bucket(2, TWENTY_MIN_US)],
    steps: [
      refund([1, 1]),
      peek(
        [1, 1],
        [
          [4, 0, 0],
          [2, 0, 0],
        ],
      ),
      take(
        [3, 0],
        [
          [1, 3_600_000, 0],
          [2, 0, 0],
        ],
      ),
      refund([2, 0]),
      peek(
        [1, 1],
        [
          [3, 1_200_000, 0],
          [2, 0, 0],
        ],
      ),
      refund([5, 0]),
      peek(
        [1, 1],
        [
          [4, 0, 0],
          [2, 0, 0],
        ],
      ),
    ],
  },
];
