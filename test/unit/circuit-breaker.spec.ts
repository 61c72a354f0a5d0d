import { EventEmitter } from 'node:events';
import { RateLimitStoreError, type RateLimitStoreFailure } from 'nest-redis-rate-limit';
import type { BucketRule } from '../../lib/algorithms/algorithm.interface.js';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';
import { BreakerLayer } from '../../lib/pipeline/breaker.layer.js';
import type { Take } from '../../lib/pipeline/decision-layer.interface.js';
import type { RateLimitStore } from '../../lib/stores/rate-limit-store.interface.js';
import { queryOf, resultOf } from '../support/bucket-results.js';
import { FakeClock } from '../support/fake-clock.js';

const RULE: BucketRule = { algorithm: tokenBucket, capacity: 1, usPerToken: 1_000 };
const REPLY: Take = { results: [resultOf([0, 1, 0], RULE.capacity)], source: 'redis' };

/** A store whose next answers are scripted; counts the calls that reach it. */
class ScriptedStore implements RateLimitStore {
  readonly description = 'fake';
  calls = 0;
  failWith: RateLimitStoreFailure | undefined;

  take(): Promise<Take> {
    this.calls += 1;
    if (this.failWith === undefined) return Promise.resolve(REPLY);
    return Promise.reject(new RateLimitStoreError(this.failWith, `fake ${this.failWith}`));
  }
  refund(): Promise<void> {
    return this.take().then(() => undefined);
  }
  reset(): Promise<void> {
    return this.take().then(() => undefined);
  }
  resetIdentity(): Promise<void> {
    return this.take().then(() => undefined);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

class RecordingLogger {
  readonly lines: string[] = [];
  warn(message: string): void {
    this.lines.push(`warn ${message}`);
  }
  log(message: string): void {
    this.lines.push(`log ${message}`);
  }
  debug(message: string): void {
    this.lines.push(`debug ${message}`);
  }
}

describe('BreakerLayer', () => {
  let clock: FakeClock;
  let inner: ScriptedStore;
  let logger: RecordingLogger;
  let store: BreakerLayer;

  beforeEach(() => {
    clock = new FakeClock();
    inner = new ScriptedStore();
    logger = new RecordingLogger();
    store = new BreakerLayer(inner, { failureThreshold: 3, cooldownMs: 1_000 }, clock, logger);
  });

  const take = () => store.take(queryOf([{ key: 'k', rule: RULE, cost: 1 }], true));
  const failTimes = async (n: number) => {
    for (let i = 0; i < n; i++) await expect(take()).rejects.toBeInstanceOf(RateLimitStoreError);
  };
  const openCircuit = async () => {
    inner.failWith = 'timeout';
    await failTimes(3);
    expect(store.breaker.state).toBe('open');
  };

  it('passes calls through and their replies while closed', async () => {
    await expect(take()).resolves.toEqual(REPLY);
    expect(inner.calls).toBe(1);
    expect(store.breaker.state).toBe('closed');
  });

  it('stays closed below the threshold of consecutive failures', async () => {
    inner.failWith = 'timeout';
    await failTimes(2);
    expect(store.breaker.state).toBe('closed');
  });

  it('restarts the count of consecutive failures after a success', async () => {
    inner.failWith = 'unavailable';
    await failTimes(2);
    inner.failWith = undefined;
    await take();
    inner.failWith = 'unavailable';
    await failTimes(2);
    expect(store.breaker.state).toBe('closed');
  });

  it('opens after the threshold of timeouts and rejects at once without calling the store', async () => {
    await openCircuit();
    const callsWhenOpened = inner.calls;
    const error = await take().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitStoreError);
    expect((error as RateLimitStoreError).failure).toBe('unavailable');
    expect((error as RateLimitStoreError).message).toMatch(/Circuit breaker open.*1000 ms/);
    await expect(store.reset(['k'])).rejects.toBeInstanceOf(RateLimitStoreError);
    await expect(store.resetIdentity('p:', 'id')).rejects.toBeInstanceOf(RateLimitStoreError);
    await expect(store.refund([{ key: 'k', rule: RULE, cost: 1 }])).rejects.toBeInstanceOf(
      RateLimitStoreError,
    );
    expect(inner.calls).toBe(callsWhenOpened);
  });

  it('does not open on error replies (Redis answered), however many', async () => {
    inner.failWith = 'error';
    await failTimes(10);
    expect(store.breaker.state).toBe('closed');
    expect(inner.calls).toBe(10);
  });

  it('does not restart the count of consecutive failures on an error reply', async () => {
    inner.failWith = 'unavailable';
    await failTimes(2);
    inner.failWith = 'error';
    await failTimes(1);
    inner.failWith = 'timeout';
    await failTimes(1);
    expect(store.breaker.state).toBe('open');
  });

  it('closes when the half-open probe gets an error reply, which shows the store answers', async () => {
    await openCircuit();
    clock.advanceMs(1_000);
    inner.failWith = 'error';
    await expect(take()).rejects.toThrow(/fake error/);
    expect(store.breaker.state).toBe('closed');
  });

  it('keeps rejecting until the cool-down has passed', async () => {
    await openCircuit();
    inner.failWith = undefined;
    clock.advanceMs(999);
    await expect(take()).rejects.toThrow(/Circuit breaker open.*1 ms/);
    expect(store.breaker.state).toBe('open');
  });

  it('lets exactly one probe through when half-open, and closes on its success', async () => {
    await openCircuit();
    const before = inner.calls;
    inner.failWith = undefined;
    clock.advanceMs(1_000);
    const probe = take();
    expect(store.breaker.state).toBe('half-open');
    await expect(take()).rejects.toThrow(/Circuit breaker open/);
    await expect(probe).resolves.toEqual(REPLY);
    expect(inner.calls).toBe(before + 1);
    expect(store.breaker.state).toBe('closed');
    await expect(take()).resolves.toEqual(REPLY);
  });

  it('re-opens for a full cool-down when the probe fails', async () => {
    await openCircuit();
    clock.advanceMs(1_000);
    await expect(take()).rejects.toThrow(/fake timeout/);
    expect(store.breaker.state).toBe('open');
    clock.advanceMs(999);
    const before = inner.calls;
    await expect(take()).rejects.toThrow(/Circuit breaker open/);
    expect(inner.calls).toBe(before);
    clock.advanceMs(1);
    inner.failWith = undefined;
    await expect(take()).resolves.toEqual(REPLY);
    expect(store.breaker.state).toBe('closed');
  });

  it('logs opening and closing once each, not per rejected request', async () => {
    await openCircuit();
    inner.failWith = undefined;
    await failTimes(20);
    clock.advanceMs(250);
    await expect(take()).rejects.toThrow();
    clock.advanceMs(750);
    inner.failWith = 'timeout';
    await expect(take()).rejects.toThrow(/fake timeout/);
    clock.advanceMs(1_000);
    inner.failWith = undefined;
    await take();
    const loud = logger.lines.filter((line) => !line.startsWith('debug'));
    expect(loud).toEqual([
      expect.stringMatching(/^warn Circuit breaker opened: 3 consecutive fake store failures/),
      expect.stringMatching(
        /^log Circuit breaker closed: fake store answered again after 2000 ms$/,
      ),
    ]);
  });

  it('forwards close() and the description to the wrapped store', async () => {
    const hooks: string[] = [];
    const withHooks = Object.assign(new ScriptedStore(), {
      close: () => {
        hooks.push('close');
        return Promise.resolve();
      },
    });
    const wrapped = new BreakerLayer(
      withHooks,
      { failureThreshold: 1, cooldownMs: 1 },
      clock,
      logger,
    );
    await wrapped.close();
    expect(hooks).toEqual(['close']);
    expect(wrapped.description).toBe('fake');
  });

  it('probes at the next call, before the cool-down ends, once the store reports it reconnected', async () => {
    const client = new EventEmitter();
    inner = Object.assign(new ScriptedStore(), {
      onReconnect: (listener: () => void) => {
        client.on('ready', listener);
        return () => client.off('ready', listener);
      },
    });
    store = new BreakerLayer(inner, { failureThreshold: 1, cooldownMs: 60_000 }, clock, logger);
    inner.failWith = 'unavailable';
    await expect(take()).rejects.toThrow(/fake unavailable/);
    await expect(take()).rejects.toThrow(/Circuit breaker open/);
    inner.failWith = undefined;
    client.emit('ready');
    await expect(take()).resolves.toEqual(REPLY);
    expect(store.breaker.state).toBe('closed');
    await store.close();
    expect(client.listenerCount('ready')).toBe(0);
  });

  it('lets another probe through when the first has not settled after a cool-down', async () => {
    await openCircuit();
    clock.advanceMs(1_000);
    let settle: (reply: Take) => void = () => {};
    inner.take = () => {
      inner.calls += 1;
      return new Promise<Take>((resolve) => (settle = resolve));
    };
    const hungProbe = take();
    clock.advanceMs(999);
    await expect(take()).rejects.toThrow(/Circuit breaker open/);
    clock.advanceMs(1);
    const secondProbe = take();
    expect(inner.calls).toBe(5);
    settle(REPLY);
    await expect(secondProbe).resolves.toEqual(REPLY);
    expect(store.breaker.state).toBe('closed');
    void hungProbe;
  });
});
