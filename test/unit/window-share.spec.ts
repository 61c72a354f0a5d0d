import type { WindowRule } from '../../lib/algorithms/algorithm.interface.js';
import { fixedWindow } from '../../lib/algorithms/fixed-window/fixed-window.js';
import { slidingWindow } from '../../lib/algorithms/sliding-window/sliding-window.js';
import type { DecisionLayer } from '../../lib/pipeline/decision-layer.interface.js';
import { FailureStrategyLayer } from '../../lib/pipeline/failure-strategy.layer.js';
import { RateLimitStoreError } from '../../lib/errors/rate-limit-store.error.js';
import { deniedBy, queryOf } from '../support/bucket-results.js';

const HOUR_US = 3_600_000_000;

describe.each([
  ['fixed window', fixedWindow],
  ['sliding window', slidingWindow],
] as const)("%s under failureStrategy 'local'", (_name, algorithm) => {
  it('gives each instance capacity / instances (at least 1) of a window of the same length', () => {
    const rule: WindowRule = { algorithm, capacity: 5, windowUs: HOUR_US };
    expect(algorithm.share(rule, 2)).toEqual({ algorithm, capacity: 2, windowUs: HOUR_US });
    expect(algorithm.share(rule, 10)).toEqual({ algorithm, capacity: 1, windowUs: HOUR_US });
  });

  it('judges a failed take in memory against that share', async () => {
    const error = new RateLimitStoreError('unavailable', 'Redis is down');
    const failing: DecisionLayer = {
      description: 'redis',
      take: () => Promise.reject(error),
      refund: () => Promise.reject(error),
      reset: () => Promise.reject(error),
      resetIdentity: () => Promise.reject(error),
      close: () => Promise.resolve(),
    };
    const layer = new FailureStrategyLayer(failing, {
      keyPrefix: 'rl:',
      instances: 2,
      memoryStoreMaxKeys: 10,
    });
    const rule: WindowRule = { algorithm, capacity: 5, windowUs: HOUR_US };
    const query = queryOf([{ key: 'rl:s:hourly:{ip:1}', rule, cost: 1 }], true, 'local');
    const takes = [await layer.take(query), await layer.take(query), await layer.take(query)];
    await layer.close();
    expect(takes.map((take) => [take.source, deniedBy(take.results)])).toEqual([
      ['local', false],
      ['local', false],
      ['local', true],
    ]);
    expect(takes[2]!.results[0]!.limit).toBe(2);
  });
});
