import type { FailureStrategy } from './limit-options.interface.js';

export const FAILURE_STRATEGIES: readonly FailureStrategy[] = ['open', 'closed', 'local'];

const PROTECTION: Record<FailureStrategy, number> = { open: 0, local: 1, closed: 2 };

/** The strategy of a request under several limits: the most protective one. */
export function mostProtective(strategies: readonly FailureStrategy[]): FailureStrategy {
  let chosen: FailureStrategy = 'open';
  for (const strategy of strategies) {
    if (PROTECTION[strategy] > PROTECTION[chosen]) chosen = strategy;
  }
  return chosen;
}
