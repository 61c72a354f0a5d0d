import type { ChildProcess } from 'node:child_process';
import type { RedisServerProcess } from './redis-process.mjs';

export const REDIS_SENTINEL_MISSING: string;

export interface SentinelProcess {
  readonly port: number;
  readonly pid: number;
  readonly process: ChildProcess;
  readonly dir: string;
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface RedisSentinelProcesses {
  readonly name: string;
  readonly master: RedisServerProcess;
  readonly replica: RedisServerProcess;
  readonly sentinel: SentinelProcess;
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  /** The master's port as the sentinel reports it now. */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

export function sentinelCommand(): { command: string; extra: readonly string[] };
export function redisCli(port: number, ...args: readonly string[]): Promise<string>;
export function startRedisSentinel(options?: {
  name?: string;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
}): Promise<RedisSentinelProcesses>;
