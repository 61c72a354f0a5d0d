import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import { TOKEN_BUCKET_CASES } from '../../lib/algorithms/token-bucket/token-bucket.cases.js';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import { queryOf, repliesOf, requestsOf } from '../support/bucket-results.js';
import { FakeClock } from '../support/fake-clock.js';

describe('token bucket (memory store, fake clock)', () => {
  describe.each(TOKEN_BUCKET_CASES)('$name', ({ buckets, steps }) => {
    it('replies as the table says at every step', async () => {
      const clock = new FakeClock();
      const store = new MemoryRateLimitStore(1_000, clock);
      const keys = buckets.map((_, i) => `case:${i}:{id}`);
      const rules = buckets.map(({ capacity, usPerToken }) => ({
        algorithm: tokenBucket,
        capacity,
        usPerToken,
      }));
      try {
        for (const [index, step] of steps.entries()) {
          clock.advanceUs(step.advanceUs);
          const take = await store.take(queryOf(requestsOf(keys, rules, step.costs), step.consume));
          const reply = repliesOf(take.results);
          expect({ step: index, reply }).toEqual({ step: index, reply: step.expected });
          expect(take.source).toBe('memory');
          expect(take.results.map((result) => result.limit)).toEqual(
            buckets.map((bucket) => bucket.capacity),
          );
        }
      } finally {
        await store.close();
      }
    });
  });
});
