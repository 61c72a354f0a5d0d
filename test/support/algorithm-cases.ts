import {
  type AlgorithmCase,
  type BucketReply,
  START_US,
} from '../../lib/algorithms/algorithm.cases.js';
import { FIXED_WINDOW_CASES } from '../../lib/algorithms/fixed-window/fixed-window.cases.js';
import { MIXED_ALGORITHM_CASES } from '../../lib/algorithms/mixed-algorithms.cases.js';
import { SLIDING_WINDOW_CASES } from '../../lib/algorithms/sliding-window/sliding-window.cases.js';
import { TOKEN_BUCKET_CASES } from '../../lib/algorithms/token-bucket/token-bucket.cases.js';
import type { DecisionLayer } from '../../lib/pipeline/decision-layer.interface.js';
import { queryOf, repliesOf, requestsOf } from './bucket-results.js';
import { FakeClock } from './fake-clock.js';

/** Every table of cases, by the name of what it covers. */
export const CASE_TABLES: readonly (readonly [string, readonly AlgorithmCase[]])[] = [
  ['token bucket', TOKEN_BUCKET_CASES],
  ['fixed window', FIXED_WINDOW_CASES],
  ['sliding window', SLIDING_WINDOW_CASES],
  ['mixed algorithms', MIXED_ALGORITHM_CASES],
];

/** A fake clock at a case's first step. */
export function clockFor(algorithmCase: AlgorithmCase): FakeClock {
  return new FakeClock(START_US + (algorithmCase.startUs ?? 0));
}

/** One bucket key per bucket of a case, all under one identity. */
export function keysFor(algorithmCase: AlgorithmCase, prefix: string): string[] {
  return algorithmCase.buckets.map((_, i) => `${prefix}case:${i}:{id}`);
}

export interface StepOutcome {
  readonly step: number;
  readonly reply: readonly BucketReply[];
  readonly limits: readonly number[];
}

/**
 * Plays `steps` of a case on `layer`, moving `clock` (when given) as the table says. Returns what
 * each step that replies got, to compare with the table.
 */
export async function playCase(
  layer: DecisionLayer,
  algorithmCase: AlgorithmCase,
  keys: readonly string[],
  clock: FakeClock | undefined,
  steps = algorithmCase.steps,
): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  for (const [index, step] of steps.entries()) {
    clock?.advanceUs(step.advanceUs);
    const requests = requestsOf(keys, algorithmCase.buckets, step.costs);
    if (step.mode === 'refund') {
      await layer.refund(requests);
      continue;
    }
    const take = await layer.take(queryOf(requests, step.mode === 'consume'));
    outcomes.push({
      step: index,
      reply: repliesOf(take.results),
      limits: take.results.map((result) => result.limit),
    });
  }
  return outcomes;
}

/** The table's expectations in the shape playCase answers. */
export function expectedOf(
  algorithmCase: AlgorithmCase,
  steps = algorithmCase.steps,
): StepOutcome[] {
  return steps.flatMap((step, index) =>
    step.mode === 'refund'
      ? []
      : [
          {
            step: index,
            reply: step.expected,
            limits: algorithmCase.buckets.map((bucket) => bucket.capacity),
          },
        ],
  );
}
