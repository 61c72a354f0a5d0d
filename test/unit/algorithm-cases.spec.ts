import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import {
  CASE_TABLES,
  clockFor,
  expectedOf,
  keysFor,
  playCase,
} from '../support/algorithm-cases.js';

describe.each(CASE_TABLES)('%s cases (memory store, fake clock)', (_table, cases) => {
  describe.each(cases)('$name', (algorithmCase) => {
    it('replies as the table says at every step', async () => {
      const clock = clockFor(algorithmCase);
      const store = new MemoryRateLimitStore(1_000, clock);
      try {
        const outcomes = await playCase(store, algorithmCase, keysFor(algorithmCase, ''), clock);
        expect(outcomes).toEqual(expectedOf(algorithmCase));
      } finally {
        await store.close();
      }
    });
  });
});
