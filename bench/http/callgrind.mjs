// Opt-in (`--http-callgrind`): instructions per request of each server under valgrind's callgrind,
// a count that does not move with machine load, unlike CPU time. Each variant runs alone: started
// with instrumentation off, warmed by a count of requests, then for each repetition instrumentation
// is switched on for exactly `requests` requests (callgrind_control), dumped, and the dump's
// `totals:` divided by the requests the server received meanwhile.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runAutocannon } from './load.mjs';
import { startServer } from './server-process.mjs';
import { VARIANTS } from './variants.mjs';

// Counts still vary between windows (GC and JIT land in some and not others): Express bare gave
// 759k, 657k and 742k instructions/request in three 2,000-request windows here, ×1.15.
export const CALLGRIND_CONFIG = {
  quick: { reps: 2, connections: 50, warmup: 3_000, requests: 1_000 },
  full: { reps: 4, connections: 50, warmup: 4_000, requests: 2_000 },
};

export function callgrindSupport() {
  const version = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  return version.error || version.status !== 0
    ? { available: false, note: 'valgrind not installed' }
    : { available: true, note: `${version.stdout.trim()} --tool=callgrind` };
}

export async function runCallgrind({ redisUrl, quick, log, variants = VARIANTS }) {
  const config = CALLGRIND_CONFIG[quick ? 'quick' : 'full'];
  const support = callgrindSupport();
  if (!support.available) return { config, note: support.note, runs: [] };
  const dir = mkdtempSync(join(tmpdir(), 'bench-callgrind-'));
  const wrapper = [
    'valgrind',
    '--tool=callgrind',
    '--instr-atstart=no',
    `--callgrind-out-file=${join(dir, 'cg.%p')}`,
  ];
  const runs = [];
  try {
    for (const variant of variants) {
      const started = Date.now();
      const server = await startServer(variant, redisUrl, { wrapper });
      try {
        await runAutocannon({ ...server, ...config, amount: config.warmup, record: false });
        for (let rep = 0; rep < config.reps; rep++) {
          const before = await server.cpu();
          control('-i', 'on', server.pid);
          await runAutocannon({ ...server, ...config, amount: config.requests, record: false });
          control('-i', 'off', server.pid);
          const after = await server.cpu();
          control('-d', server.pid);
          const served = after.served - before.served;
          const totals = await dumpTotals(dir, server.pid, rep + 1);
          runs.push({ rep, variant: variant.id, served, instructions: totals / served });
        }
      } finally {
        await server.stop();
      }
      log(`http callgrind ${variant.id}: ${Math.round((Date.now() - started) / 1000)} s\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { config, note: support.note, runs };
}

function control(...args) {
  execFileSync('callgrind_control', args.map(String), { stdio: 'ignore' });
}

// Dump n of a process is cg.<pid>.<n>: the counts since the previous dump. Waits for it to be
// written, since callgrind_control returns once the command is taken.
async function dumpTotals(dir, pid, n) {
  const file = join(dir, `cg.${pid}.${n}`);
  for (let attempt = 0; attempt < 100; attempt++) {
    const totals = existsSync(file) ? /^totals: (\d+)$/m.exec(readFileSync(file, 'utf8')) : null;
    if (totals) return Number(totals[1]);
    await sleep(100);
  }
  throw new Error(`callgrind dump ${file} not written`);
}
