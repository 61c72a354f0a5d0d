/**
 * Cases of one request under limits of different algorithms, judged together all-or-nothing
 * (shape and runners: algorithm.cases.ts).
 */
import { type AlgorithmCase, HOUR_US, MINUTE_US, take } from './algorithm.cases.js';
import { fixedWindow } from './fixed-window/fixed-window.js';
import { slidingWindow } from './sliding-window/sliding-window.js';
import { tokenBucket } from './token-bucket/token-bucket.js';

export const MIXED_ALGORITHM_CASES: readonly AlgorithmCase[] = [
  {
    name: 'a token bucket, a fixed window and a sliding window pass or deny one request together',
    buckets: [
      { algorithm: tokenBucket, capacity: 5, usPerToken: 20 * MINUTE_US },
      { algorithm: fixedWindow, capacity: 2, windowUs: HOUR_US },
      { algorithm: slidingWindow, capacity: 3, windowUs: HOUR_US },
    ],
    steps: [
      take(
        [1, 1, 1],
        [
          [4, 1_200_000, 0],
          [1, 3_600_000, 0],
          [2, 7_200_000, 0],
        ],
      ),
      take(
        [1, 1, 1],
        [
          [3, 2_400_000, 0],
          [0, 3_600_000, 0],
          [1, 7_200_000, 0],
        ],
      ),
      // the fixed window denies: no bucket pays
      take(
        [1, 1, 1],
        [
          [3, 2_400_000, 0],
          [0, 3_600_000, 3_600_000],
          [1, 7_200_000, 0],
        ],
      ),
      take(
        [1, 0, 1],
        [
          [2, 3_600_000, 0],
          [0, 3_600_000, 0],
          [0, 7_200_000, 0],
        ],
      ),
      // the sliding window denies: 3 counted must weigh 2, a third into the next window
      take(
        [1, 0, 1],
        [
          [2, 3_600_000, 0],
          [0, 3_600_000, 0],
          [0, 7_200_000, 4_800_000],
        ],
      ),
      // an hour later: the bucket is full, the fixed window new, the sliding one still weighs 3
      take(
        [1, 1, 1],
        [
          [5, 0, 0],
          [2, 0, 0],
          [0, 3_600_000, 1_200_000],
        ],
        HOUR_US,
      ),
      take(
        [1, 1, 1],
        [
          [4, 1_200_000, 0],
          [1, 2_400_000, 0],
          [0, 6_000_000, 0],
        ],
        20 * MINUTE_US,
      ),
    ],
  },
];
