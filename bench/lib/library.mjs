// Which build of the library a bench loads: dist/ (what `npm run build` writes) by default, the
// directory in BENCH_DIST when set (inherited by the HTTP server processes), or a build's dist
// directory given explicitly (bench/compare.mjs builds revisions into temporary directories).
import { join } from 'node:path';
import process from 'node:process';
import { URL, pathToFileURL } from 'node:url';

/** The repository's build, unless BENCH_DIST names another. */
export const DEFAULT_DIST = process.env.BENCH_DIST
  ? process.env.BENCH_DIST
  : new URL('../../dist/', import.meta.url);

/** The library's exports from a dist directory (a file: URL or a path), loaded when first used. */
export function loadLibrary(dist = DEFAULT_DIST) {
  return import(distFile('index.js', dist).href);
}

/** A file of a build (a .lua script, say) as a file: URL. */
export function distFile(file, dist = DEFAULT_DIST) {
  return dist instanceof URL ? new URL(file, dist) : pathToFileURL(join(dist, file));
}
