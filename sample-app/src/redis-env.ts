import type { SampleAppSettings } from './app.module.js';

/**
 * The `redis` option from REDIS_URL (one server) or REDIS_CLUSTER_NODES (seed nodes of a Redis
 * Cluster, `host:port,host:port`; the client discovers the rest). Neither: undefined, the memory
 * store. Both: an error, since only one can hold the buckets.
 */
export function redisFromEnv(env: NodeJS.ProcessEnv): SampleAppSettings['redis'] {
  const url = env.REDIS_URL?.trim() || undefined;
  const nodes = env.REDIS_CLUSTER_NODES?.trim() || undefined;
  if (url !== undefined && nodes !== undefined) {
    throw new Error('Set REDIS_URL or REDIS_CLUSTER_NODES, not both');
  }
  if (nodes === undefined) return url;
  return { cluster: nodes.split(',').map(parseNode) };
}

function parseNode(node: string): { host: string; port: number } {
  const match = /^\s*(.+):(\d{1,5})\s*$/.exec(node);
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65_535) {
    throw new Error(`REDIS_CLUSTER_NODES: expected host:port, got '${node}'`);
  }
  return { host: match[1]!, port };
}
