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
const SET_CALL = "redis.call('SET', ";
/** Every SET of the algorithms goes through this: the key lives a minute longer. */
const SET_FOR_TEST = `local function set_for_test(key, value, option, ms)
  if option ~= 'PX' then error('set_for_test: SET without PX') end
  return redis.call('SET', key, value, 'PX', ms + 60000)
end
`;

/**
 * The bucket script on a real redis-server, judging at `clock`'s time instead of Redis's: the
 * production Lua with its one TIME call replaced by the clock's reading, sent with EVAL. So a
 * case table's steps that move time run on Redis too. Expiry runs on Redis's real clock, which
 * the fake one does not move: a key the fake clock gives 1 ms could expire between two steps, and
 * one it gives an hour never would. So every SET gets a minute more: a stale bucket must then be
 * told by the algorithm's own reading of its state, as it must be on Redis anyway (expiry is
 * millisecond-grained and lazy).
 */
export class LuaAtClock implements DecisionLayer {
  readonly description = 'redis (Lua at a fake clock)';
  /** Script calls made. */
  calls = 0;
  private readonly lua: string;

  constructor(
    private readonly redis: Redis,
    private readonly clock: Clock,
  ) {
    if (BUCKET_LUA.split(TIME_CALL).length !== 2) {
      throw new Error(`the bucket script should call ${TIME_CALL} exactly once`);
    }
    this.lua = SET_FOR_TEST + BUCKET_LUA.replaceAll(SET_CALL, 'set_for_test(');
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
    const lua = this.lua.replace(TIME_CALL, time);
    const nrrlBuckets = (keyCount: number, ...args: (string | number)[]): Promise<unknown> => {
      this.calls++;
      return this.redis.eval(lua, keyCount, ...args);
    };
    return { nrrlBuckets } as unknown as Redis;
  }
}
