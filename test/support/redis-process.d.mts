import type { ChildProcess } from 'node:child_process';

export const REDIS_SERVER_MISSING: string;
export function redisServerAvailable(): boolean;
export function freePort(): Promise<number>;
export function waitForPing(port: number, timeoutMs?: number): Promise<void>;

export interface RedisServerProcess {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  readonly process: ChildProcess;
  readonly dir: string;
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function startRedisServer(options?: {
  port?: number;
  args?: readonly string[];
}): Promise<RedisServerProcess>;
