import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisRateLimitStore } from 'nest-redis-rate-limit';
import {
  type BucketReply,
  TOKEN_BUCKET_CASES,
} from '../../lib/algorithms/token-bucket/token-bucket.cases.js';
import { takeFlat } from '../support/flat-take.js';

/** Redis runs on its own clock: a case's round trips may shave this much off its waits. */
const SLACK_MS = 2_000;

describe('token bucket (Lua script on Redis, same table)', () => {
  let store: RedisRateLimitStore;
  let prefix: string;

  beforeAll(async () => {
    store = new RedisRateLimitStore(new Redis(process.env.REDIS_URL!), true, 1_000);
    await store.waitUntilReady();
  });
  afterAll(() => store.close());
  beforeEach(() => {
    prefix = `test:${randomUUID()}:`;
  });

  describe.each(TOKEN_BUCKET_CASES)('$name', ({ buckets, steps }) => {
    const firstAdvance = steps.findIndex((step) => step.advanceUs !== 0);
    const replayable = firstAdvance === -1 ? steps : steps.slice(0, firstAdvance);

    it(`replies as the table says for the ${replayable.length} steps before time moves`, async () => {
      const keys = buckets.map((_, i) => `${prefix}${i}:{id}`);
      for (const [index, step] of replayable.entries()) {
        const reply = await takeFlat(store, keys, buckets, step.costs, step.consume);
        const actual = step.expected.map((expected, bucket) =>
          snapWaits(reply.slice(3 * bucket, 3 * bucket + 3), expected),
        );
        expect({ step: index, reply: actual }).toEqual({ step: index, reply: step.expected });
      }
    });
  });

  it('every case opens with a step Redis can replay', () => {
    for (const { steps } of TOKEN_BUCKET_CASES) expect(steps[0]!.advanceUs).toBe(0);
  });
});

/**
 * Remaining must match exactly. A positive wait may be up to SLACK_MS shorter than the table's
 * (Redis's clock moved while the case ran): such a wait is replaced by the table's value, any
 * other is kept as it is and fails the comparison.
 */
function snapWaits(actual: readonly number[], expected: BucketReply): readonly number[] {
  const snap = (value: number, target: number): number =>
    target > 0 && value <= target && value > target - SLACK_MS ? target : value;
  return [actual[0]!, snap(actual[1]!, expected[1]), snap(actual[2]!, expected[2])];
}
