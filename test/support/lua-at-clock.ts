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
const PEXPIRETIME_CALL = "redis.call('PEXPIRETIME', ";
/** Added to the shift: no key gets a PXAT in Redis's past, even after the fake clock steps back. */
const SHIFT_MARGIN_MS = 86_400_000;

/**
 * Every SET and PEXPIRETIME of the algorithms goes through these: a relative expiry (PX) gets a
 * minute more; an absolute one (PXAT) is the fake clock's, moved to Redis's by `shiftMs`, and
 * PEXPIRETIME moves it back (-1, no expiry, and -2, no key, stay as they are).
 */
function testFunctions(shiftMs: number): string {
  return `local function set_for_test(key, value, option, ms)
  if option == 'PX' then return redis.call('SET', key, value, 'PX', ms + 60000) end
  if option ~= 'PXAT' then error('set_for_test: SET without PX or PXAT') end
  return redis.call('SET', key, value, 'PXAT', string.format('%d', ms + ${shiftMs}))
end
local function pexpiretime_for_test(key)
  local ms = redis.call('PEXPIRETIME', key)
  if ms < 0 then return ms end
  return ms - ${shiftMs}
end
`;
}

/** Whether `lua` makes `call` at least once and `command` in no other way. */
const onlyAs = (lua: string, call: string, command: string): boolean =>
  lua.includes(call) && lua.split(command).length === lua.split(call).length;

/**
 * The bucket script on a real redis-server, judging at `clock`'s time instead of Redis's: the
 * production Lua with its one TIME call replaced by the clock's reading, sent with EVAL. So a
 * case table's steps that move time run on Redis too. Expiry runs on Redis's real clock, which
 * the fake one does not move: a key the fake clock gives 1 ms could expire between two steps, and
 * one it gives an hour never would. So a relative expiry (PX) gets a minute more, and an absolute
 * one (PXAT) is moved by a shift fixed at construction (Redis's time minus the fake clock's, plus
 * a day) and moved back when PEXPIRETIME reads it: the script sees the fake clock's instants, and
 * Redis never drops a key, even after the fake clock steps back (by less than a day). A stale
 * bucket must then be told by the algorithm's own reading of its state, as it must be on Redis
 * anyway (expiry is millisecond-grained and lazy).
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
    for (const [call, command] of [
      [SET_CALL, "'SET'"],
      [PEXPIRETIME_CALL, "'PEXPIRETIME'"],
    ] as const) {
      if (!onlyAs(BUCKET_LUA, call, command)) {
        throw new Error(`the bucket script should call ${command} only as ${call}…`);
      }
    }
    const shiftMs = Date.now() - Math.floor(clock.nowUs() / 1000) + SHIFT_MARGIN_MS;
    this.lua =
      testFunctions(shiftMs) +
      BUCKET_LUA.replaceAll(SET_CALL, 'set_for_test(').replaceAll(
        PEXPIRETIME_CALL,
        'pexpiretime_for_test(',
      );
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
