import { callLua, defineLuaCommand, readLua } from '../algorithms/lua-command.js';
import type { BreakerLayer } from '../pipeline/breaker.layer.js';
import type { RedisRateLimitStore } from '../stores/redis.store.js';
import type { SlotAnswer, SlotStore } from './slot-store.js';

/** Namespaced, because the client may be the user's. */
const IN_FLIGHT_COMMAND = 'nrrlInFlight';
const IN_FLIGHT_LUA = readLua('../concurrency/in-flight.lua');

const ACQUIRE = 1;
const RENEW = 2;
const RELEASE = 3;

/**
 * Slots in Redis (in-flight.lua, on Redis's clock), shared by every instance. Each call is
 * bounded by the module's `timeoutMs` and passes the circuit breaker, as decisions do, and
 * rejects with RateLimitStoreError: the caller applies the failure strategy. The only code that
 * knows the script's arguments and replies.
 */
export class RedisSlots implements SlotStore {
  constructor(
    private readonly store: RedisRateLimitStore,
    private readonly breaker: BreakerLayer | undefined,
  ) {
    defineLuaCommand(store.client, IN_FLIGHT_COMMAND, IN_FLIGHT_LUA);
  }

  async acquire(key: string, slot: string, max: number, leaseMs: number): Promise<SlotAnswer> {
    const reply = await this.send(key, ACQUIRE, slot, max, leaseMs);
    if (!Array.isArray(reply) || reply.length !== 2 || !reply.every(Number.isInteger)) {
      throw new TypeError(
        `${IN_FLIGHT_COMMAND} replied ${JSON.stringify(reply)}; expected 2 integers`,
      );
    }
    return { acquired: reply[0] === 1, held: reply[1] as number };
  }

  async renew(key: string, slot: string, leaseMs: number): Promise<boolean> {
    return (await this.send(key, RENEW, slot, 0, leaseMs)) === 1;
  }

  async release(key: string, slot: string): Promise<void> {
    await this.send(key, RELEASE, slot, 0, 0);
  }

  private send(
    key: string,
    mode: number,
    slot: string,
    max: number,
    leaseMs: number,
  ): Promise<unknown> {
    const { client } = this.store;
    const call = (): Promise<unknown> =>
      this.store.bounded(() =>
        callLua(client, IN_FLIGHT_COMMAND, 1, [key, mode, slot, max, leaseMs]),
      );
    return this.breaker === undefined ? call() : this.breaker.guard(call);
  }
}
