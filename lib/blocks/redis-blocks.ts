import { callLua, defineLuaCommand, readLua } from '../algorithms/lua-command.js';
import { blockKey, fleetKey } from '../keys/bucket-key.js';
import type { RedisRateLimitStore } from '../stores/redis.store.js';
import { repeatOn } from '../stores/repeat-on.js';

/** Namespaced, because the client may be the user's. */
const BLOCKS_COMMAND = 'nrrlBlocks';
const BLOCKS_LUA = readLua('../blocks/blocks.lua');

/** How often an instance reads the fleet's block marker: the delay before it reads blocks. */
const BLOCK_POLL_MS = 1_000;
/**
 * The marker outlives each block by this much: the block's end is set one round trip after the
 * marker, on Redis Cluster by another node.
 */
const MARKER_SLACK_MS = 5_000;

/**
 * Blocks in Redis, seen by every instance. A block is a field of the identity's block hash
 * (keys/bucket-key.ts) holding its end in Redis time, read by the bucket script in the same call
 * as the identity's buckets, so reading it costs no round trip. Reading it is not free either
 * (one more key per bucket), so decisions read blocks only while `active`: while the fleet's
 * block marker exists. Every write raises the marker's epoch and keeps it alive until the block
 * ends; every instance reads the marker each BLOCK_POLL_MS (a pipeline, no script) and, on a new
 * epoch, calls `forget` so the layer above drops the blocks it had learned (an unblock, or a
 * shorter block, elsewhere).
 *
 * So a block reaches another instance at once while any block is active in the fleet, else
 * within BLOCK_POLL_MS; an unblock reaches the blocks others had learned within BLOCK_POLL_MS.
 */
export class RedisBlocks {
  private epoch: number | undefined;
  private marked = false;
  /** Writes so far: a poll sent before a write may not overwrite what the write set. */
  private writes = 0;
  private readonly stop: () => void;
  private readonly markerKey: string;

  constructor(
    private readonly store: RedisRateLimitStore,
    private readonly keyPrefix: string,
    private readonly forget: () => void,
  ) {
    this.markerKey = fleetKey(keyPrefix, 'blocks');
    defineLuaCommand(store.client, BLOCKS_COMMAND, BLOCKS_LUA);
    this.stop = repeatOn(store, BLOCK_POLL_MS, () => this.poll());
  }

  /** Whether a block may exist in the fleet: decisions then read the identities' block keys. */
  get active(): boolean {
    return this.marked;
  }

  /** Blocks `fields` (ALL_LIMITS or bucket keys) of `identity` for `durationMs` from now. */
  async block(identity: string, fields: readonly string[], durationMs: number): Promise<void> {
    this.writes++;
    await this.mark(durationMs + MARKER_SLACK_MS);
    const key = blockKey(this.keyPrefix, identity);
    await this.store.bounded(() =>
      callLua(this.store.client, BLOCKS_COMMAND, 1, [key, 'block', durationMs, ...fields]),
    );
  }

  /** Lifts `fields` of `identity`, or with none every block of it. */
  async unblock(identity: string, fields: readonly string[] | undefined): Promise<void> {
    this.writes++;
    const key = blockKey(this.keyPrefix, identity);
    const { client } = this.store;
    await this.store.bounded(() =>
      fields === undefined ? client.del(key) : client.hdel(key, ...fields),
    );
    await this.mark(0);
  }

  close(): void {
    this.stop();
  }

  /** Raises the marker's epoch (and keeps it `liveMs` at least); the reply is seen at once. */
  private async mark(liveMs: number): Promise<void> {
    const epoch = await this.store.bounded(() =>
      callLua(this.store.client, BLOCKS_COMMAND, 1, [this.markerKey, 'mark', liveMs]),
    );
    // This instance's own write is no news, unless it also raised over someone else's.
    const own = typeof epoch === 'number' && this.epoch !== undefined && epoch === this.epoch + 1;
    this.see(typeof epoch === 'number' && epoch > 0 ? epoch : undefined, !own);
  }

  /** Reads the marker; while Redis is unavailable, what is known stands. */
  private async poll(): Promise<void> {
    const writes = this.writes;
    const replies = await this.store.bounded(() =>
      this.store.client.pipeline().pttl(this.markerKey).hget(this.markerKey, 'epoch').exec(),
    );
    if (writes !== this.writes) return;
    const [ttl, epoch] = (replies ?? []).map(([error, value]) =>
      error === null ? value : undefined,
    );
    if (typeof ttl !== 'number') return;
    this.see(ttl > 0 || ttl === -1 ? Number(epoch) : undefined, true);
  }

  /** The marker's epoch as read (undefined: no marker, so no block anywhere). */
  private see(epoch: number | undefined, news: boolean): void {
    this.marked = epoch !== undefined;
    if (epoch !== this.epoch && news) this.forget();
    this.epoch = epoch;
  }
}
