import { type Clock, systemClock } from '../clock.js';

/**
 * What `ThrottlerStorage.increment` resolves to (`ThrottlerStorageRecord` of @nestjs/throttler),
 * declared here so that the library's types never need @nestjs/throttler installed.
 *
 * @publicApi
 */
export interface RateLimitThrottlerRecord {
  /** Live hits of the throttler name on the key, this one included (limit + 1 when it tripped the block). */
  totalHits: number;
  /** Seconds, rounded up, until the key's window ends (throttler's `X-RateLimit-Reset`). */
  timeToExpire: number;
  /** The call is refused. */
  isBlocked: boolean;
  /** While blocked: seconds, rounded up, until the block ends (throttler's `Retry-After`). */
  timeToBlockExpire: number;
}

/** One `increment` call's arguments, as ThrottlerGuard passes them. */
export interface ThrottlerHit {
  readonly key: string;
  readonly ttlMs: number;
  readonly limit: number;
  readonly blockDurationMs: number;
  readonly throttlerName: string;
}

interface ThrottlerRecord {
  expiresAtMs: number;
  blockExpiresAtMs: number;
  isBlocked: boolean;
  /** Per throttler name, the expiry of each live hit. */
  readonly hits: Map<string, number[]>;
  /** When the record's window, block and hits have all ended: then it is dropped. */
  keepUntilMs: number;
}

const SWEEP_INTERVAL_MS = 10_000;

/**
 * Throttler records in this process's memory: what throttler-hit.lua does on Redis, line for
 * line, for a module without Redis and for failureStrategy 'local'. Both follow
 * ThrottlerStorageService of @nestjs/throttler 6 (see the Lua's header). Bounded like the memory
 * store: a record is dropped once it has ended (on access and by a sweep every 10 s), and beyond
 * `maxKeys` the least recently written records are evicted.
 */
export class ThrottlerRecords {
  private readonly records = new Map<string, ThrottlerRecord>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly maxKeys: number,
    private readonly clock: Clock = systemClock,
  ) {}

  get size(): number {
    return this.records.size;
  }

  increment({
    key,
    ttlMs,
    limit,
    blockDurationMs,
    throttlerName,
  }: ThrottlerHit): RateLimitThrottlerRecord {
    const nowMs = Math.floor(this.clock.nowUs() / 1000);
    let record = this.records.get(key);
    if (record !== undefined && record.keepUntilMs < nowMs) record = undefined;
    record ??= {
      expiresAtMs: nowMs + ttlMs,
      blockExpiresAtMs: 0,
      isBlocked: false,
      hits: new Map(),
      keepUntilMs: 0,
    };
    const hits = (record.hits.get(throttlerName) ?? []).filter((expiry) => expiry > nowMs);
    record.hits.set(throttlerName, hits);

    let timeToExpire = Math.ceil((record.expiresAtMs - nowMs) / 1000);
    if (timeToExpire <= 0) {
      record.expiresAtMs = nowMs + ttlMs;
      timeToExpire = Math.ceil((record.expiresAtMs - nowMs) / 1000);
    }
    const hit = (): void => {
      hits.push(nowMs + ttlMs);
    };

    let answer: RateLimitThrottlerRecord;
    if (blockDurationMs <= 0) {
      const over = hits.length >= limit;
      if (!over) hit();
      let timeToBlockExpire = 0;
      if (over) {
        timeToBlockExpire =
          hits.length > 0 ? Math.ceil((extreme(hits, Math.min) - nowMs) / 1000) : timeToExpire;
      }
      answer = {
        totalHits: hits.length + (over ? 1 : 0),
        timeToExpire,
        isBlocked: over,
        timeToBlockExpire,
      };
    } else {
      if (!record.isBlocked) hit();
      if (hits.length > limit && !record.isBlocked) {
        record.isBlocked = true;
        record.blockExpiresAtMs = nowMs + blockDurationMs;
      }
      const timeToBlockExpire = Math.ceil((record.blockExpiresAtMs - nowMs) / 1000);
      if (timeToBlockExpire <= 0 && record.isBlocked) {
        record.isBlocked = false;
        hits.length = 0;
        hit();
      }
      answer = {
        totalHits: hits.length,
        timeToExpire,
        isBlocked: record.isBlocked,
        timeToBlockExpire,
      };
    }
    record.keepUntilMs = Math.max(
      record.expiresAtMs,
      record.isBlocked ? record.blockExpiresAtMs : 0,
      ...[...record.hits.values()].map((log) => (log.length > 0 ? extreme(log, Math.max) : 0)),
    );
    this.write(key, record);
    return answer;
  }

  clear(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.records.clear();
  }

  private write(key: string, record: ThrottlerRecord): void {
    this.records.delete(key);
    this.records.set(key, record);
    if (this.records.size > this.maxKeys) {
      const oldest = this.records.keys().next();
      if (oldest.done !== true) this.records.delete(oldest.value);
    }
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
  }

  private sweep(): void {
    const nowMs = Math.floor(this.clock.nowUs() / 1000);
    for (const [key, record] of this.records) {
      if (record.keepUntilMs < nowMs) this.records.delete(key);
    }
  }
}

/** The least or greatest of a non-empty list, without spreading it into arguments (limit + 1 of them). */
function extreme(values: readonly number[], pick: (a: number, b: number) => number): number {
  let result = values[0]!;
  for (const value of values) result = pick(result, value);
  return result;
}
