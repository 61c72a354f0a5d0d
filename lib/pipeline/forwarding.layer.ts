import type { BucketRequest } from '../algorithms/algorithm.interface.js';
import type { DecisionLayer, Take, TakeQuery } from './decision-layer.interface.js';

/**
 * A layer that passes every call on to the layer it wraps. Layers extend it and override only
 * what they change, so a pass-through is written once.
 */
export abstract class ForwardingLayer<
  Inner extends DecisionLayer = DecisionLayer,
> implements DecisionLayer {
  constructor(protected readonly inner: Inner) {}

  get description(): string {
    return this.inner.description;
  }

  take(query: TakeQuery): Promise<Take> {
    return this.inner.take(query);
  }

  refund(requests: readonly BucketRequest[]): Promise<void> {
    return this.inner.refund(requests);
  }

  reset(keys: readonly string[]): Promise<void> {
    return this.inner.reset(keys);
  }

  resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    return this.inner.resetIdentity(keyPrefix, identity);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
