import type { Logger } from '@nestjs/common';
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { REPEATED_LOG_INTERVAL_MS } from '../options/defaults.js';
import { ThrottledLogger } from '../throttled-logger.js';

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
  // Closing a client whose socket is already gone would otherwise keep a 2 s timer alive.
  disconnectTimeout: 100,
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
      redisOptions: { ...redisOptions, maxRetriesPerRequest: 0, disconnectTimeout: 100 },
    });
  }
  logClientErrors(client, logger);
  return client;
}

/**
 * Where the store is, for the start-up log line: host and port, sentinels or Cluster seed nodes;
 * never a password or a URL's credentials.
 */
export function describeConnection(connection: RedisConnection): string {
  switch (connection.kind) {
    case 'url': {
      const url = new URL(connection.url);
      return `redis at ${url.hostname}:${url.port === '' ? '6379' : url.port}`;
    }
    case 'options':
      return describeOptions(connection.options);
    case 'cluster':
      return `redis-cluster with ${connection.config.cluster.length} seed node(s)`;
    case 'client': {
      const { client } = connection;
      if (isCluster(client)) {
        const seeds = (client as unknown as { startupNodes?: readonly unknown[] }).startupNodes;
        return `redis-cluster with ${seeds?.length ?? 0} seed node(s) (your client)`;
      }
      return `${describeOptions(client.options ?? {})} (your client)`;
    }
  }
}

function describeOptions(options: RedisOptions): string {
  if (options.sentinels !== undefined && options.sentinels !== null) {
    return `redis '${options.name ?? 'mymaster'}' through ${options.sentinels.length} sentinel(s)`;
  }
  if (options.path !== undefined && options.path !== null) return `redis at ${options.path}`;
  return `redis at ${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
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

/**
 * Logs the client's connection errors under our context instead of ioredis's stderr warning: the
 * first at once, then at most every REPEATED_LOG_INTERVAL_MS while Redis stays unreachable.
 */
function logClientErrors(client: Redis | Cluster, logger: Logger): void {
  const log = new ThrottledLogger(logger, REPEATED_LOG_INTERVAL_MS);
  client.on('error', (error: Error) => log.warn(() => `Redis connection error: ${error.message}`));
}
