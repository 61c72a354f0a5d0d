/**
 * The fixed window's table of cases (shape and runners: algorithm.cases.ts). Windows are an hour
 * or a minute, aligned to START_US; `startUs` puts the first step inside a window.
 */
import { type AlgorithmCase, HOUR_US, MINUTE_US, peek, refund, take } from '../algorithm.cases.js';
import type { WindowRule } from '../algorithm.interface.js';
import { fixedWindow } from './fixed-window.js';

/** A fixed window of `capacity` tokens per `windowUs`. */
const window = (capacity: number, windowUs: number): WindowRule => ({
  algorithm: fixedWindow,
  capacity,
  windowUs,
});

export const FIXED_WINDOW_CASES: readonly AlgorithmCase[] = [
  {
    name: 'a window passes capacity, then denies until its end; the next starts from zero',
    buckets: [window(3, HOUR_US)],
    startUs: 15 * MINUTE_US,
    steps: [
      take([1], [[2, 2_700_000, 0]]),
      take([1], [[1, 2_700_000, 0]]),
      take([1], [[0, 2_700_000, 0]]),
      take([1], [[0, 2_700_000, 2_700_000]]),
      peek([1], [[0, 2_700_000, 2_700_000]]),
      // nothing comes back within the window
      take([1], [[0, 900_000, 900_000]], 30 * MINUTE_US),
      // its end, to the microsecond: a new window
      take([1], [[2, 3_600_000, 0]], 15 * MINUTE_US),
    ],
  },
  {
    name: 'a peek and a cost of 0 count nothing; a window with nothing taken reports no reset',
    buckets: [window(3, HOUR_US)],
    startUs: 40 * MINUTE_US,
    steps: [
      peek([1], [[3, 0, 0]]),
      take([0], [[3, 0, 0]]),
      take([2], [[1, 1_200_000, 0]]),
      peek([1], [[1, 1_200_000, 0]]),
      peek([2], [[1, 1_200_000, 1_200_000]]),
      take([0], [[1, 1_200_000, 0]]),
      take([1], [[0, 1_200_000, 0]]),
    ],
  },
  {
    name: 'a cost above capacity is denied with -1 and counts nothing',
    buckets: [window(2, HOUR_US)],
    steps: [
      take([3], [[2, 0, -1]]),
      take([1], [[1, 3_600_000, 0]]),
      take([3], [[1, 3_600_000, -1]]),
      peek([3], [[1, 3_600_000, -1]]),
    ],
  },
  {
    name: 'a fractional cost counts as its ceiling',
    buckets: [window(3, HOUR_US)],
    steps: [
      take([0.5], [[2, 3_600_000, 0]]),
      take([1.2], [[0, 3_600_000, 0]]),
      take([0.1], [[0, 3_600_000, 3_600_000]]),
    ],
  },
  {
    name: "a window's end is exact to the microsecond, whatever the key's millisecond expiry",
    buckets: [window(3, HOUR_US)],
    startUs: HOUR_US - 1,
    steps: [
      take([1], [[2, 1, 0]]),
      take([2], [[0, 1, 0]]),
      take([1], [[0, 1, 1]]),
      take([1], [[2, 3_600_000, 0]], 1),
    ],
  },
  {
    name: "a count taken in a window's last millisecond counts for nothing in the next one's first",
    buckets: [window(3, HOUR_US)],
    startUs: HOUR_US - 1_000,
    steps: [
      take([1], [[2, 1, 0]]),
      take([2], [[0, 1, 0]], 999),
      // the key expires at this very millisecond, so Redis still has it until the next one
      peek([1], [[3, 0, 0]], 1),
      take([1], [[2, 3_600_000, 0]], 999),
      peek([3], [[2, 3_600_000, 3_600_000]]),
    ],
  },
  {
    name: 'a count left from an earlier window counts for nothing',
    buckets: [window(2, MINUTE_US)],
    steps: [
      take([2], [[0, 60_000, 0]]),
      peek([1], [[2, 0, 0]], 2 * MINUTE_US),
      take([1], [[1, 60_000, 0]]),
      peek([1], [[2, 0, 0]], 61 * MINUTE_US),
    ],
  },
  {
    name: 'all-or-nothing: when one window denies, the other counts nothing',
    buckets: [window(2, MINUTE_US), window(3, HOUR_US)],
    steps: [
      take(
        [1, 1],
        [
          [1, 60_000, 0],
          [2, 3_600_000, 0],
        ],
      ),
      take(
        [1, 1],
        [
          [0, 60_000, 0],
          [1, 3_600_000, 0],
        ],
      ),
      take(
        [1, 1],
        [
          [0, 60_000, 60_000],
          [1, 3_600_000, 0],
        ],
      ),
      // the minute is over; the hour still holds one
      take(
        [1, 1],
        [
          [1, 60_000, 0],
          [0, 3_540_000, 0],
        ],
        MINUTE_US,
      ),
      take(
        [1, 1],
        [
          [1, 60_000, 0],
          [0, 3_540_000, 3_540_000],
        ],
      ),
    ],
  },
  {
    name: 'a refund lowers the count, never below zero, and leaves an empty window empty',
    buckets: [window(3, HOUR_US)],
    startUs: 30 * MINUTE_US,
    steps: [
      refund([1]),
      peek([1], [[3, 0, 0]]),
      take([3], [[0, 1_800_000, 0]]),
      refund([1]),
      peek([1], [[1, 1_800_000, 0]]),
      refund([0.5]),
      peek([1], [[2, 1_800_000, 0]]),
      refund([5]),
      peek([1], [[3, 0, 0]]),
    ],
  },
  {
    name: "a clock that steps back keeps the later window's count until that window ends",
    buckets: [window(3, HOUR_US)],
    startUs: HOUR_US + 10 * MINUTE_US,
    steps: [
      take([3], [[0, 3_000_000, 0]]),
      // 20 minutes back: 70 minutes to the end of the window counted in
      take([1], [[0, 4_200_000, 4_200_000]], -20 * MINUTE_US),
      take([1], [[2, 3_600_000, 0]], 70 * MINUTE_US),
    ],
  },
];
