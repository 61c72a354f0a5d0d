/**
 * The shape of every algorithm's table of cases (`<name>/<name>.cases.ts`), each run against the
 * TypeScript arithmetic (memory store, fake clock) and against the Lua on Redis (the bucket
 * script at the table's clock, and on Redis's own clock up to a case's first step that moves
 * time). Test data: not part of the build.
 */
import type { BucketRule } from './algorithm.interface.js';

/** Per bucket: [remaining, resetMs, retryAfterMs], as the store replies. */
export type BucketReply = readonly [remaining: number, resetMs: number, retryAfterMs: number];

export interface CaseStep {
  /** Microseconds the clock moves before this step. */
  readonly advanceUs: number;
  /** Per bucket: tokens taken, or given back. */
  readonly costs: readonly number[];
  /** 'refund' gives the costs back and replies nothing; the next step shows the effect. */
  readonly mode: 'consume' | 'peek' | 'refund';
  readonly expected: readonly BucketReply[];
}

export interface AlgorithmCase {
  readonly name: string;
  /** Rules as options/ resolves them (usPerToken and windowUs in whole µs). */
  readonly buckets: readonly BucketRule[];
  /** Microseconds past START_US at the first step. @default 0 */
  readonly startUs?: number;
  readonly steps: readonly CaseStep[];
}

export const SECOND_US = 1_000_000;
export const MINUTE_US = 60 * SECOND_US;
export const HOUR_US = 60 * MINUTE_US;
export const DAY_US = 24 * HOUR_US;

/**
 * Where every case's clock starts: midnight UTC of 2026-05-29, so windows that divide a day
 * start there, and near Redis's own clock in magnitude.
 */
export const START_US = 20_602 * DAY_US;

export const take = (
  costs: readonly number[],
  expected: readonly BucketReply[],
  advanceUs = 0,
): CaseStep => ({ advanceUs, costs, mode: 'consume', expected });

export const peek = (
  costs: readonly number[],
  expected: readonly BucketReply[],
  advanceUs = 0,
): CaseStep => ({ advanceUs, costs, mode: 'peek', expected });

export const refund = (costs: readonly number[], advanceUs = 0): CaseStep => ({
  advanceUs,
  costs,
  mode: 'refund',
  expected: [],
});
