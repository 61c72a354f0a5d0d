import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/** Reads a script that ships beside this file (`dist/algorithms/*.lua`), once at import. */
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

/** The script's reply, if it is `length` integers; a TypeError naming the command otherwise. */
export function checkIntegerReply(command: string, reply: unknown, length: number): number[] {
  if (
    !Array.isArray(reply) ||
    reply.length !== length ||
    !reply.every((value) => typeof value === 'number' && Number.isInteger(value))
  ) {
    throw new TypeError(`${command} replied ${JSON.stringify(reply)}; expected ${length} integers`);
  }
  return reply as number[];
}
