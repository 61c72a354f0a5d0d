import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/** A command defineCommand added: the number of keys, then the keys, then the arguments. */
type LuaCommand = (
  numberOfKeys: number,
  ...keysAndArgs: readonly (string | number)[]
) => Promise<unknown>;

/**
 * Reads a script shipped under `dist/` at a path relative to this file's folder (`algorithms/`;
 * `../<folder>/x.lua` for the scripts of other folders), once at import.
 */
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

/**
 * Runs a script registered with defineLuaCommand: `keysAndArgs` holds its `numberOfKeys` keys,
 * then its arguments. One typed entry point for every script of the module, rather than an
 * augmentation of ioredis's types per command.
 */
export function callLua(
  client: Redis | Cluster,
  name: string,
  numberOfKeys: number,
  keysAndArgs: readonly (string | number)[],
): Promise<unknown> {
  const commands = client as unknown as Readonly<Record<string, LuaCommand>>;
  return commands[name]!(numberOfKeys, ...keysAndArgs);
}
