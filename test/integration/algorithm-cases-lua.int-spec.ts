import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisRateLimitStore } from 'nest-redis-rate-limit';
import type { AlgorithmCase, BucketReply } from '../../lib/algorithms/algorithm.cases.js';
import type { BucketRule } from '../../lib/algorithms/algorithm.interface.js';
import {
  CASE_TABLES,
  clockFor,
  expectedOf,
  keysFor,
  playCase,
  type StepOutcome,
} from '../support/algorithm-cases.js';
import { LuaAtClock } from '../support/lua-at-clock.js';

/** Redis runs on its own clock: a case's round trips may shave this much off its waits. */
const SLACK_MS = 2_000;

describe.each(CASE_TABLES)('%s cases (Lua on Redis)', (_table, cases) => {
  let redis: Redis;
  let store: RedisRateLimitStore;
  let prefix: string;

  beforeAll(async () => {
    redis = new Redis(process.env.REDIS_URL!);
    store = new RedisRateLimitStore(new Redis(process.env.REDIS_URL!), true, 1_000);
    await store.waitUntilReady();
  });
  afterAll(async () => {
    await store.close();
    redis.disconnect();
  });
  beforeEach(() => {
    prefix = `test:${randomUUID()}:`;
  });

  describe.each(cases)('$name', (algorithmCase) => {
    it("replies as the table says at every step, at the table's clock", async () => {
      const clock = clockFor(algorithmCase);
      const lua = new LuaAtClock(redis, clock);
      const outcomes = await playCase(lua, algorithmCase, keysFor(algorithmCase, prefix), clock);
      expect(outcomes).toEqual(expectedOf(algorithmCase));
    });

    const firstAdvance = algorithmCase.steps.findIndex((step) => step.advanceUs !== 0);
    const replayable =
      firstAdvance === -1 ? algorithmCase.steps : algorithmCase.steps.slice(0, firstAdvance);

    it(`replies as the table says on Redis's clock for the ${replayable.length} steps before time moves`, async () => {
      const keys = keysFor(algorithmCase, prefix);
      const outcomes = await playCase(store, algorithmCase, keys, undefined, replayable);
      const expected = expectedOf(algorithmCase, replayable);
      expect(outcomes.map((outcome, i) => snapWaits(algorithmCase, outcome, expected[i]!))).toEqual(
        expected,
      );
    });
  });

  it('every case opens with a step Redis can replay', () => {
    for (const { steps } of cases) expect(steps[0]!.advanceUs).toBe(0);
  });
});

/**
 * Remaining must match exactly. A token bucket's positive wait may be up to SLACK_MS shorter
 * than the table's (Redis's clock moved while the case ran). A window's waits depend on where in
 * its window Redis's clock is, which the table cannot know: a positive one may be anything up to
 * two windows (the cases at the table's clock check them exactly). Such a wait is replaced by the
 * table's value; any other is kept as it is and fails the comparison.
 */
function snapWaits(
  algorithmCase: AlgorithmCase,
  actual: StepOutcome,
  expected: StepOutcome,
): StepOutcome {
  const reply = actual.reply.map((bucket, i): BucketReply => {
    const target = expected.reply[i]!;
    const range = rangeOf(algorithmCase.buckets[i]!);
    const snap = (value: number, wanted: number): number =>
      wanted > 0 && value > 0 && value <= wanted + range && value > wanted - range ? wanted : value;
    return [bucket[0], snap(bucket[1], target[1]), snap(bucket[2], target[2])];
  });
  return { ...actual, reply };
}

/** How far from the table's a positive wait may be on Redis's clock. */
function rangeOf(rule: BucketRule): number {
  return 'windowUs' in rule ? (2 * rule.windowUs) / 1000 : SLACK_MS;
}
