/**
 * @nestjs/throttler 6, unmodified, for Jest. It is CommonJS and requires `@nestjs/common`, which
 * Nest 12 ships as ES modules only: Jest cannot `require()` those on Node < 24.9 (plain Node can,
 * and that is how apps run it). So its own dist/ files are evaluated here, one by one, with a
 * `require` that hands them the very `@nestjs/common` and `@nestjs/core` modules the test and the
 * library imported: one copy of Nest, so ThrottlerModule, ThrottlerGuard and RateLimitModule
 * live in one app as they do in production.
 */
import * as asyncHooks from 'node:async_hooks';
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as common from '@nestjs/common';
import * as core from '@nestjs/core';
import type * as ThrottlerPackage from '@nestjs/throttler';

const DIST = new URL('../../node_modules/@nestjs/throttler/dist/', import.meta.url);

const SHARED: Readonly<Record<string, unknown>> = {
  '@nestjs/common': common,
  '@nestjs/core': core,
  async_hooks: asyncHooks,
  net,
  'node:crypto': crypto,
};

const loaded = new Map<string, { exports: unknown }>();

function load(file: string): unknown {
  const cached = loaded.get(file);
  if (cached !== undefined) return cached.exports;
  const module = { exports: {} as unknown };
  loaded.set(file, module);
  const source = readFileSync(new URL(file, DIST), 'utf8');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- evaluating the package's own file is the point
  const evaluate = new Function('exports', 'require', 'module', source) as (
    exports: unknown,
    require: (specifier: string) => unknown,
    module: { exports: unknown },
  ) => void;
  evaluate(module.exports, requireFrom, module);
  return module.exports;
}

function requireFrom(specifier: string): unknown {
  if (specifier.startsWith('./')) return load(`${specifier.slice(2)}.js`);
  if (Object.hasOwn(SHARED, specifier)) return SHARED[specifier];
  throw new Error(`@nestjs/throttler requires '${specifier}', which this loader does not share`);
}

export const throttler = load('index.js') as typeof ThrottlerPackage;

/** Throttler's package.json version, for messages. */
export const throttlerVersion = (
  JSON.parse(readFileSync(new URL('../package.json', DIST), 'utf8')) as { version: string }
).version;
