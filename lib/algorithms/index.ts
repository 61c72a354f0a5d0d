import type { Algorithm, AlgorithmName } from './algorithm.interface.js';
import { tokenBucket } from './token-bucket/token-bucket.js';

/** Every algorithm a limit may name: adding one is its folder plus one line here. */
export const ALGORITHMS: Readonly<Record<AlgorithmName, Algorithm>> = {
  'token-bucket': tokenBucket,
};
