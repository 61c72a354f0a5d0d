// Where a run's outputs go and how RESULTS.md is put together. A full run writes the committed
// bench/RESULTS.md and bench/results/; a quick or reduced run writes the same files under the
// git-ignored bench/quick/, so its indicative figures never replace the committed ones.
// RESULTS.md is rendered from the JSON files of its directory: results/results.json (decisions),
// results/http.json (HTTP) and results/compare.json (bench/compare.mjs), plus NOTES.md
// (hand-written, about the committed runs) for the committed one.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { URL, fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import { renderChart } from './chart.mjs';
import { renderReport, renderPartialReport } from './report.mjs';

export const BENCH_DIR = new URL('../', import.meta.url);
export const QUICK_DIR = new URL('../quick/', import.meta.url);

export const CHARTS = [
  { mode: 'allowed', keys: 10_000, file: 'results/chart-allowed-10000-keys.svg' },
  { mode: 'denied', keys: 10_000, file: 'results/chart-denied-10000-keys.svg' },
];

/** The output directory: bench/quick/ for a quick or reduced run, bench/ otherwise. */
export const outputDir = (scratch) => (scratch ? QUICK_DIR : BENCH_DIR);
export const isScratch = (dir) => dir.href === QUICK_DIR.href;

/** A path relative to the repository, for messages: `bench/quick/RESULTS.md`. */
export const shown = (dir, file = '') =>
  relative(fileURLToPath(new URL('../../', import.meta.url)), fileURLToPath(new URL(file, dir)));

export function readResults(dir, name) {
  const url = new URL(`results/${name}`, dir);
  return existsSync(url) ? JSON.parse(readFileSync(url, 'utf8')) : undefined;
}

export function writeResults(dir, name, json) {
  mkdirSync(new URL('results/', dir), { recursive: true });
  writeFileSync(new URL(`results/${name}`, dir), JSON.stringify(json, null, 1));
}

/** A decision run: results.json, the SVG charts, then RESULTS.md. */
export function writeOutputs(json, dir = BENCH_DIR) {
  writeResults(dir, 'results.json', json);
  for (const chart of json.runs ? CHARTS : []) {
    const svg = renderChart(json.runs, json.systems, {
      ...chart,
      concurrencies: json.meta.config.concurrencies,
    });
    writeFileSync(new URL(chart.file, dir), svg);
  }
  return renderResults(dir);
}

/** Rewrites `dir`/RESULTS.md from the JSON files there; returns its path for messages. */
export function renderResults(dir = BENCH_DIR) {
  const json = readResults(dir, 'results.json');
  const http = readResults(dir, 'http.json');
  const compare = readResults(dir, 'compare.json');
  const scratch = isScratch(dir);
  const notesUrl = new URL('NOTES.md', BENCH_DIR);
  const notes = !scratch && existsSync(notesUrl) ? readFileSync(notesUrl, 'utf8') : '';
  const report = json?.runs
    ? renderReport({ ...json, http, compare }, { scratch })
    : renderPartialReport({ http, compare, sections: json?.sections }, { scratch });
  writeFileSync(new URL('RESULTS.md', dir), report + (notes ? `\n${notes}` : ''));
  return shown(dir, 'RESULTS.md');
}
