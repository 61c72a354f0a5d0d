import { randomUUID } from 'node:crypto';
import { ForwardingLayer } from './forwarding.layer.js';
import { callLua, defineLuaCommand, readLua } from '../algorithms/lua-command.js';
import { fleetKey } from '../keys/bucket-key.js';
import type { RedisRateLimitStore } from '../stores/redis.store.js';
import { repeatOn } from '../stores/repeat-on.js';
import type { DecisionLayer } from './decision-layer.interface.js';

/** Namespaced, because the client may be the user's. */
const INSTANCES_COMMAND = 'nrrlInstances';
const INSTANCES_LUA = readLua('../pipeline/instance-registry.lua');

/** How often a live instance announces itself. */
export const HEARTBEAT_MS = 1_000;
/** An instance not heard from for this long (a crash, a long pause) no longer counts. */
const INSTANCE_TTL_MS = 5_000;

/**
 * `instances: 'auto'`: while Redis is up, this instance announces itself every HEARTBEAT_MS in
 * the fleet's instance set (one Cluster slot, keys/bucket-key.ts) and reads how many instances
 * are live; the failure strategy 'local' divides each limit by the last count it read. An
 * instance that stops leaves the set at once; one that crashes drops out after INSTANCE_TTL_MS.
 * Before its first answer, and with Redis down at start, the count is 1. Takes pass through: it
 * sits just above the breaker so that it closes (and leaves) before the store does.
 */
export class InstanceRegistry extends ForwardingLayer {
  private readonly id = randomUUID();
  private readonly key: string;
  private seen: number | undefined;
  private readonly stop: () => void;

  constructor(
    inner: DecisionLayer,
    private readonly store: RedisRateLimitStore,
    keyPrefix: string,
  ) {
    super(inner);
    this.key = fleetKey(keyPrefix, 'instances');
    defineLuaCommand(store.client, INSTANCES_COMMAND, INSTANCES_LUA);
    // While Redis is unavailable the last count stands: what an outage is divided by.
    this.stop = repeatOn(store, HEARTBEAT_MS, async () => {
      const live = await this.send('beat');
      if (typeof live === 'number' && live > 0) this.seen = live;
    });
  }

  /** Live instances at the last heartbeat Redis answered, this one included; 1 before any. */
  get instances(): number {
    return this.seen ?? 1;
  }

  override async close(): Promise<void> {
    this.stop();
    await this.send('leave').catch(() => undefined);
    await this.inner.close();
  }

  private send(op: 'beat' | 'leave'): Promise<unknown> {
    return this.store.bounded(() =>
      callLua(this.store.client, INSTANCES_COMMAND, 1, [this.key, op, this.id, INSTANCE_TTL_MS]),
    );
  }
}
