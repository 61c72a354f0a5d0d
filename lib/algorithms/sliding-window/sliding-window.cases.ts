/**
 * The sliding window's table of cases (shape and runners: algorithm.cases.ts). Windows of an
 * hour aligned to START_US, so that the weights are round: at 15 minutes into a window the
 * previous window's count weighs 3/4.
 */
import { type AlgorithmCase, HOUR_US, MINUTE_US, peek, refund, take } from '../algorithm.cases.js';
import type { WindowRule } from '../algorithm.interface.js';
import { slidingWindow } from './sliding-window.js';

/** A sliding window of `capacity` tokens per `windowUs`. */
const window = (capacity: number, windowUs: number): WindowRule => ({
  algorithm: slidingWindow,
  capacity,
  windowUs,
});

export const SLIDING_WINDOW_CASES: readonly AlgorithmCase[] = [
  {
    name: 'within one window the count is plain; then the previous window weighs what is left of it',
    buckets: [window(10, HOUR_US)],
    steps: [
      // reset: both counts weigh nothing at the end of the next window
      take([4], [[6, 7_200_000, 0]]),
      take([6], [[0, 7_200_000, 0]]),
      // the current count alone is too high: wait into the next window, until 10 weighs 9
      take([1], [[0, 7_200_000, 3_960_000]]),
      // 6 minutes into the next window: 10 · 54/60 = 9
      peek([1], [[1, 3_240_000, 0]], 66 * MINUTE_US),
      take([1], [[0, 6_840_000, 0]]),
      // 10 · (60 − t)/60 + 1 <= 9 at t = 12 minutes
      take([1], [[0, 6_840_000, 360_000]]),
      take([1], [[0, 6_480_000, 0]], 6 * MINUTE_US),
    ],
  },
  {
    name: 'a quarter into a window, a full previous window weighs 3/4',
    buckets: [window(10, HOUR_US)],
    steps: [
      take([10], [[0, 7_200_000, 0]]),
      // 7.5 counted: 2 whole tokens left; 3 more wait until 7 is counted, at 18 minutes
      peek([1], [[2, 2_700_000, 0]], 75 * MINUTE_US),
      peek([3], [[2, 2_700_000, 180_000]]),
      take([2], [[0, 6_300_000, 0]]),
      // two windows later nothing is counted
      peek([1], [[10, 0, 0]], 2 * HOUR_US),
    ],
  },
  {
    name: 'a cost above capacity is denied with -1; a fractional cost counts as its ceiling',
    buckets: [window(3, HOUR_US)],
    startUs: 30 * MINUTE_US,
    steps: [
      take([4], [[3, 0, -1]]),
      take([0.5], [[2, 5_400_000, 0]]),
      take([1.5], [[0, 5_400_000, 0]]),
      peek([4], [[0, 5_400_000, -1]]),
      peek([3], [[0, 5_400_000, 5_400_000]]),
      take([0], [[0, 5_400_000, 0]]),
    ],
  },
  {
    name: 'all-or-nothing: when one window denies, the other counts nothing',
    buckets: [window(2, HOUR_US), window(5, HOUR_US)],
    steps: [
      take(
        [2, 1],
        [
          [0, 7_200_000, 0],
          [4, 7_200_000, 0],
        ],
      ),
      take(
        [1, 1],
        [
          [0, 7_200_000, 5_400_000],
          [4, 7_200_000, 0],
        ],
      ),
      take(
        [0, 4],
        [
          [0, 7_200_000, 0],
          [0, 7_200_000, 0],
        ],
      ),
    ],
  },
  {
    name: 'a refund lowers the current count, then the previous one, never below zero',
    buckets: [window(10, HOUR_US)],
    steps: [
      refund([1]),
      peek([1], [[10, 0, 0]]),
      take([5], [[5, 7_200_000, 0]]),
      refund([2]),
      peek([1], [[7, 7_200_000, 0]]),
      take([1], [[6, 7_200_000, 0]]),
      // a window later: previous 4, current 1; 2 back, 1 from each
      take([1], [[5, 7_200_000, 0]], HOUR_US),
      refund([2]),
      peek([1], [[7, 3_600_000, 0]]),
      refund([9]),
      peek([1], [[10, 0, 0]]),
    ],
  },
  {
    name: "a clock that steps back judges at the later window's start until it gets there",
    buckets: [window(10, HOUR_US)],
    startUs: HOUR_US + 30 * MINUTE_US,
    steps: [
      take([10], [[0, 5_400_000, 0]]),
      // an hour back, 30 minutes before the window counted in: it weighs in whole
      take([1], [[0, 9_000_000, 5_760_000]], -HOUR_US),
      take([1], [[0, 7_200_000, 3_960_000]], 30 * MINUTE_US),
    ],
  },
];
