import type { DecisionLayer } from '../pipeline/decision-layer.interface.js';

/**
 * Where buckets live: the bottom layer of the decision pipeline. A store judges with the
 * algorithms of algorithms/ and never decides by the failure strategy itself: it rejects with
 * RateLimitStoreError and the failure strategy layer decides.
 *
 * @publicApi
 */
export interface RateLimitStore extends DecisionLayer {
  /** Resolves once the store can answer, or after a bounded wait; never rejects. */
  waitUntilReady?(): Promise<void>;
  /** Calls `listener` whenever the store's connection comes back; returns the unsubscribe. */
  onReconnect?(listener: () => void): () => void;
  /**
   * The commands of `commands` its server lacks (on a Cluster, any master); rejects when it
   * cannot tell. A store that runs no Redis commands leaves it out.
   */
  missingCommands?(commands: readonly string[]): Promise<readonly string[]>;
}

/** Injection token of the active store; shares its name with the interface. */
export const RateLimitStore = Symbol('RateLimitStore');
