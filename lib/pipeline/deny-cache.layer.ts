import type { Algorithm, BucketRequest, BucketResult } from '../algorithms/algorithm.interface.js';
import { type Clock, systemClock } from '../clock.js';
import { isKeyOf } from '../keys/bucket-key.js';
import type { DecisionLayer, Take, TakeQuery } from './decision-layer.interface.js';

/** What this instance knows of a bucket that denied: the least state the denial proves. */
interface KnownState {
  readonly algorithm: Algorithm;
  readonly state: unknown;
}

/**
 * Answers requests that are sure to be denied without asking the store.
 *
 * When the store denies, each bucket's result proves a least state (the algorithm's
 * `deniedState`), dated by the local clock *before* the request was sent, so it can only be
 * behind the truth: it moves with time no faster than the clock runs, and only grows when
 * others consume. A request judged against these states by the algorithm's own arithmetic that
 * still fails is therefore denied by the store too, so the cache never changes a decision;
 * anything it cannot prove denied goes to the store. The one exception is a reset on another
 * instance, which this instance cannot see: its cached denials hold until they would have
 * expired anyway (at most the retry-after they reported).
 *
 * A denial writes nothing, so answering it locally leaves the store's state exactly as it would
 * have been. Bounded: beyond `maxKeys` the least recently denied keys are dropped.
 */
export class DenyCacheLayer implements DecisionLayer {
  private readonly known = new Map<string, KnownState>();

  constructor(
    private readonly inner: DecisionLayer,
    private readonly maxKeys: number,
    private readonly clock: Clock = systemClock,
  ) {}

  get description(): string {
    return this.inner.description;
  }

  /** Keys remembered. */
  get size(): number {
    return this.known.size;
  }

  take(query: TakeQuery): Promise<Take> {
    const cached = this.lookup(query.requests);
    if (cached !== undefined) return Promise.resolve({ results: cached, source: 'deny-cache' });
    const sentAtUs = this.clock.nowUs();
    return this.inner.take(query).then((take) => {
      // Only the store's own answers prove anything; a failure strategy's do not.
      if (take.source === 'redis') this.learn(query.requests, take.results, sentAtUs);
      return take;
    });
  }

  refund(requests: readonly BucketRequest[]): Promise<void> {
    this.forget(requests.map((request) => request.key));
    return this.inner.refund(requests);
  }

  reset(keys: readonly string[]): Promise<void> {
    this.forget(keys);
    return this.inner.reset(keys);
  }

  resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    for (const key of this.known.keys()) {
      if (isKeyOf(key, keyPrefix, identity)) this.known.delete(key);
    }
    return this.inner.resetIdentity(keyPrefix, identity);
  }

  close(): Promise<void> {
    this.known.clear();
    return this.inner.close();
  }

  /**
   * The results for a request the known states prove denied, else undefined. Every key must be
   * known: all-or-nothing needs every bucket's state to build the answer.
   */
  private lookup(requests: readonly BucketRequest[]): BucketResult[] | undefined {
    if (this.known.size === 0) return undefined;
    const nowUs = this.clock.nowUs();
    const results: BucketResult[] = [];
    let denied = false;
    for (const { key, rule, cost } of requests) {
      const known = this.known.get(key);
      if (known === undefined || known.algorithm !== rule.algorithm) return undefined;
      const check = rule.algorithm.check(known.state, rule, cost, nowUs);
      if (check.retryAfterMs !== 0) denied = true;
      results.push(rule.algorithm.settle(check, rule, cost, false, 0, nowUs).result);
    }
    if (denied) return results;
    // Might pass now: the store decides, and its answer replaces what is known.
    this.forget(requests.map((request) => request.key));
    return undefined;
  }

  /** Remembers the buckets of a denied request; forgets those of an allowed one. */
  private learn(
    requests: readonly BucketRequest[],
    results: readonly BucketResult[],
    sentAtUs: number,
  ): void {
    if (results.every((result) => result.retryAfterMs === 0)) {
      this.forget(requests.map((request) => request.key));
      return;
    }
    requests.forEach(({ key, rule, cost }, i) => {
      this.known.delete(key);
      this.known.set(key, {
        algorithm: rule.algorithm,
        state: rule.algorithm.deniedState(rule, cost, results[i]!, sentAtUs),
      });
    });
    while (this.known.size > this.maxKeys) {
      this.known.delete(this.known.keys().next().value!);
    }
  }

  private forget(keys: readonly string[]): void {
    if (this.known.size === 0) return;
    for (const key of keys) this.known.delete(key);
  }
}
