// node bench/render.mjs [--quick]: rewrites RESULTS.md and the charts from results/*.json, no new
// run (bench/ by default; bench/quick/, where quick runs write, with --quick).
import process from 'node:process';
import { outputDir, readResults, renderResults, writeOutputs } from './lib/outputs.mjs';

const dir = outputDir(process.argv.includes('--quick'));
const json = readResults(dir, 'results.json');
process.stdout.write(`${json ? writeOutputs(json, dir) : renderResults(dir)}\n`);
