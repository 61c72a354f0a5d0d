import type { Algorithm, AlgorithmName } from './algorithm.interface.js';
import { fixedWindow } from './fixed-window/fixed-window.js';
import { slidingWindow } from './sliding-window/sliding-window.js';
import { tokenBucket } from './token-bucket/token-bucket.js';

/** Every algorithm a limit may name: adding one is its folder plus one line here. */
export const ALGORITHMS: Readonly<Record<AlgorithmName, Algorithm>> = {
  'token-bucket': tokenBucket,
  'fixed-window': fixedWindow,
  'sliding-window': slidingWindow,
};
