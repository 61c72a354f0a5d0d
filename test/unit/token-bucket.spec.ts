import { MemoryRateLimitStore } from 'nest-redis-rate-limit';
import { FakeClock } from '../support/fake-clock.js';
import { TOKEN_BUCKET_CASES } from '../support/token-bucket.cases.js';

describe('token bucket (memory store, fake clock)', () => {
  describe.each(TOKEN_BUCKET_CASES)('$name', ({ buckets, steps }) => {
    it('replies as the table says at every step', () => {
      const clock = new FakeClock();
      const store = new MemoryRateLimitStore(1_000, clock);
      const keys = buckets.map((_, i) => `case:${i}:{id}`);
      try {
        steps.forEach((step, index) => {
          clock.advanceUs(step.advanceUs);
          const reply = store.takeNow(keys, buckets, step.costs, step.consume);
          expect({ step: index, reply }).toEqual({ step: index, reply: step.expected.flat() });
        });
      } finally {
        store.onModuleDestroy();
      }
    });
  });
});
