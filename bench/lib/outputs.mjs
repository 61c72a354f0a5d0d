// Writes results/results.json, the SVG charts and RESULTS.md (with NOTES.md, hand-written, appended).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { URL } from 'node:url';
import { renderChart } from './chart.mjs';
import { renderReport } from './report.mjs';

export const CHARTS = [
  { mode: 'allowed', keys: 10_000, file: 'results/chart-allowed-10000-keys.svg' },
  { mode: 'denied', keys: 10_000, file: 'results/chart-denied-10000-keys.svg' },
];

export function writeOutputs(json) {
  writeFileSync(new URL('../results/results.json', import.meta.url), JSON.stringify(json, null, 1));
  for (const chart of CHARTS) {
    const svg = renderChart(json.runs, json.systems, {
      ...chart,
      concurrencies: json.meta.config.concurrencies,
    });
    writeFileSync(new URL(`../${chart.file}`, import.meta.url), svg);
  }
  const notesUrl = new URL('../NOTES.md', import.meta.url);
  const notes = existsSync(notesUrl) ? readFileSync(notesUrl, 'utf8') : '';
  writeFileSync(
    new URL('../RESULTS.md', import.meta.url),
    renderReport(json) + (notes ? `\n${notes}` : ''),
  );
}
