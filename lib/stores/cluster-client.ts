import { Cluster, type ClusterNode, type ClusterOptions } from 'ioredis';

/**
 * Redis Cluster nodes for the module to connect to (and quit on shutdown). A few seed nodes are
 * enough: the client discovers the rest with CLUSTER SLOTS.
 *
 * @publicApi
 */
export interface RedisClusterConfig {
  cluster: readonly ClusterNode[];
  /** ioredis Cluster options; the module overrides those that would queue or replay commands. */
  options?: ClusterOptions;
}

/** Recognises `{ cluster: [...] }` among the other shapes of the `redis` option. */
export function isClusterConfig(value: unknown): value is RedisClusterConfig {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as Partial<RedisClusterConfig>).cluster)
  );
}

/**
 * Like the standalone clients the module creates, a Cluster it owns never queues commands while
 * offline and never retries one on another node after a reconnect: a decision is bounded by
 * timeoutMs, and a replayed script would consume tokens for a request already answered.
 * MOVED/ASK redirections stay on: they are answered before the script ran on the old node.
 */
export function createClusterClient(config: RedisClusterConfig): Cluster {
  const options = config.options ?? {};
  const { replyMapping: _ignored, ...redisOptions } = options.redisOptions ?? {};
  return new Cluster([...config.cluster], {
    ...options,
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt: number) => Math.min(50 * attempt, 500),
    redisOptions: { ...redisOptions, maxRetriesPerRequest: 0 },
  });
}
