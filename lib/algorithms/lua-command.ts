import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/** Reads a script shipped under `dist/` at a path relative to this file's folder, once at import. */
export function readLua(fileName: string): string {
  return readFileSync(new URL(`./${fileName}`, import.meta.url), 'utf8');
}

/**
 * Registers a script on a client once. ioredis then sends EVALSHA, falls back to EVAL on the
 * first call of each connection and on NOSCRIPT (after a restart or SCRIPT FLUSH), on Redis and
 * Cluster alike. No numberOfKeys: the key count varies with the number of limits.
 */
export function defineLuaCommand(client: Redis | Cluster, name: string, lua: string): void {
  if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') {
    client.defineCommand(name, { lua });
  }
}
