import type { Logger } from '@nestjs/common';
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

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

/** The `redis` module option told apart once, by options/resolve-module-options.ts. */
export type RedisConnection =
  | { readonly kind: 'client'; readonly client: Redis | Cluster }
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'options'; readonly options: RedisOptions }
  | { readonly kind: 'cluster'; readonly config: RedisClusterConfig };

/**
 * Options of the clients the module creates. Rate-limit commands must never be queued while
 * offline or retried after a reconnect: a decision is bounded by timeoutMs, and a command
 * replayed later would consume tokens for a request already answered.
 */
const OWN_CLIENT_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: (attempt: number) => Math.min(50 * attempt, 500),
  // A master demoted to replica under a live connection answers READONLY: reconnect, which asks
  // the sentinels for the new master. 1, not 2: a resent script could consume a request twice.
  reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 1 : false),
} satisfies RedisOptions;

/**
 * The client for a connection the module owns. Like the standalone clients, a Cluster it owns
 * never queues commands while offline and never retries one on another node after a reconnect;
 * MOVED/ASK redirections stay on: they are answered before the script ran on the old node. Our
 * clients use the default reply mapping, which the script's reply check expects.
 */
export function createClient(
  connection: Exclude<RedisConnection, { kind: 'client' }>,
  logger: Logger,
): Redis | Cluster {
  let client: Redis | Cluster;
  if (connection.kind === 'url') {
    client = new Redis(connection.url, OWN_CLIENT_OPTIONS);
  } else if (connection.kind === 'options') {
    const { replyMapping: _ignored, ...options } = connection.options;
    client = new Redis({ ...options, ...OWN_CLIENT_OPTIONS });
  } else {
    const options = connection.config.options ?? {};
    const { replyMapping: _ignored, ...redisOptions } = options.redisOptions ?? {};
    client = new Cluster([...connection.config.cluster], {
      ...options,
      enableOfflineQueue: false,
      clusterRetryStrategy: (attempt: number) => Math.min(50 * attempt, 500),
      redisOptions: { ...redisOptions, maxRetriesPerRequest: 0 },
    });
  }
  logClientErrors(client, logger);
  return client;
}

/** A client the user passes in: recognised by what we call on it, not by class or instanceof. */
export function isClient(value: unknown): value is Redis | Cluster {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<Redis>).defineCommand === 'function' &&
    typeof (value as Partial<Redis>).status === 'string'
  );
}

export function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as Partial<Cluster>).isCluster === true;
}

/** Logs the client's connection errors under our context instead of ioredis's stderr warning. */
function logClientErrors(client: Redis | Cluster, logger: Logger): void {
  let lastLogMs = 0;
  client.on('error', (error: Error) => {
    const nowMs = Date.now();
    if (nowMs - lastLogMs < 1000) return;
    lastLogMs = nowMs;
    logger.warn(`Redis connection error: ${error.message}`);
  });
}
