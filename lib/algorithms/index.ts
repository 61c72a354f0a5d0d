import type { Algorithm, AlgorithmName } from './algorithm.interface.js';
import { fixedWindow } from './fixed-window/fixed-window.js';
import { slidingWindow } from './sliding-window/sliding-window.js';
import { tokenBucket } from './token-bucket/token-bucket.js';

/**
 * Every algorithm a limit may name. Adding one: its folder (.lua, .ts, .cases.ts), its name in
 * AlgorithmName and one line here; docs/ARCHITECTURE.md lists the rest (options, test tables).
 */
export const ALGORITHMS: Readonly<Record<AlgorithmName, Algorithm>> = {
  'token-bucket': tokenBucket,
  'fixed-window': fixedWindow,
  'sliding-window': slidingWindow,
};
