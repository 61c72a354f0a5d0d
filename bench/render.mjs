// node bench/render.mjs: rewrites RESULTS.md and the charts from results/results.json, no new run.
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';
import { writeOutputs } from './lib/outputs.mjs';

writeOutputs(JSON.parse(readFileSync(new URL('./results/results.json', import.meta.url), 'utf8')));
