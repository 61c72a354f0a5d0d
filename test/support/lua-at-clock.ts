import type { Redis } from 'ioredis';
import type { BucketRequest } from '../../lib/algorithms/algorithm.interface.js';
import { BUCKET_LUA, runBucketScript } from '../../lib/algorithms/bucket-script.js';
import type { Clock } from '../../lib/clock.js';
import type {
  DecisionLayer,
  Take,
  TakeQuery,
} from '../../lib/pipeline/decision-layer.interface.js';

const TIME_CALL = "redis.call('TIME')";

/**
 * The bucket script on a real redis-server, judging at `clock`'s time instead of Redis's: the
 * production Lua with its one TIME call replaced by the clock's reading, sent with EVAL. So a
 * case table's steps that move time run on Redis too. Keys keep their real-time expiry (PX
 * from the fake instant), so only the algorithms' own reading of their state tells a stale
 * bucket, as it must on Redis anyway.
 */
export class LuaAtClock implements DecisionLayer {
  readonly description = 'redis (Lua at a fake clock)';
  /** Script calls made. */
  calls = 0;

  constructor(
    private readonly redis: Redis,
    private readonly clock: Clock,
  ) {
    if (BUCKET_LUA.split(TIME_CALL).length !== 2) {
      throw new Error(`the bucket script should call ${TIME_CALL} exactly once`);
    }
  }

  take({ requests, mode }: TakeQuery): Promise<Take> {
    return runBucketScript(this.client(), requests, mode).then((results) => ({
      results,
      source: 'redis',
    }));
  }

  async refund(requests: readonly BucketRequest[]): Promise<void> {
    await runBucketScript(this.client(), requests, 'refund');
  }

  async reset(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.redis.del(...keys);
  }

  resetIdentity(): Promise<void> {
    return Promise.reject(new Error('not used by the tests'));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** A client whose bucket command is the script at the clock's current time. */
  private client(): Redis {
    const nowUs = this.clock.nowUs();
    const time = `{ '${Math.floor(nowUs / 1_000_000)}', '${nowUs % 1_000_000}' }`;
    const lua = BUCKET_LUA.replace(TIME_CALL, time);
    const nrrlBuckets = (keyCount: number, ...args: (string | number)[]): Promise<unknown> => {
      this.calls++;
      return this.redis.eval(lua, keyCount, ...args);
    };
    return { nrrlBuckets } as unknown as Redis;
  }
}
