import type { RedisServerProcess } from './redis-process.mjs';

export interface ClusterNodeAddress {
  readonly host: string;
  readonly port: number;
}

export interface RedisClusterProcesses {
  readonly nodes: readonly ClusterNodeAddress[];
  readonly servers: readonly RedisServerProcess[];
  stop(): Promise<void>;
}

export function startRedisCluster(options?: {
  masters?: number;
  replicas?: number;
}): Promise<RedisClusterProcesses>;
export function clusterCli(port: number, ...args: readonly string[]): string;
