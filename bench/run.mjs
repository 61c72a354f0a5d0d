// npm run bench [-- --quick]: starts its own redis-server on a free loopback port, runs every
// system interleaved within each repetition, and writes bench/RESULTS.md (+ results.json).
// Then the HTTP benchmark (bench/http/) writes results/http.json and its RESULTS.md section.
// `--http-only` runs the HTTP part alone (RESULTS.md re-rendered from the last results.json),
// `--no-http` the decisions alone (RESULTS.md keeps the last http.json, with its own date).
// `--http-callgrind` adds instructions per request counted under valgrind (slow: minutes).
// A quick run, or one with fewer calls or HTTP repetitions than the full run (--calls=,
// --http-reps=), writes the same files under bench/quick/ (git-ignored) instead: its figures are
// indicative and never replace the committed RESULTS.md and results/. BENCH_DIST=<dir> loads the
// library from that build directory instead of dist/ (e.g. one bench/lib/builds.mjs made).
// `--only=<section>[,<section>]` (token-bucket, fixed-window: SECTIONS of bench/lib/systems.mjs)
// runs only those sections' systems and no HTTP part; results.json keeps the other sections'
// figures from the last run in the same directory, each section with its own date.
import process from 'node:process';
import { URL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/support/redis-process.mjs';
import { runLoad } from './lib/load.mjs';
import {
  outputDir,
  readResults,
  renderResults,
  shown,
  writeOutputs,
  writeResults,
} from './lib/outputs.mjs';
import { measureMemory } from './lib/memory.mjs';
import { redisBenchmark } from './lib/redis-benchmark.mjs';
import { perDecision, redisCounters } from './lib/redis-stats.mjs';
import { SECTIONS, SYSTEMS, sectionsOf } from './lib/systems.mjs';
import { distFile } from './lib/library.mjs';
import { HTTP_CONFIG, runHttpBench } from './http/run-http.mjs';
import { runCallgrind } from './http/callgrind.mjs';

const quick = process.argv.includes('--quick');
const httpOnly = process.argv.includes('--http-only');
const onlyArg = process.argv.find((arg) => arg.startsWith('--only='));
const sectionsRun = onlyArg ? onlyArg.slice('--only='.length).split(',') : Object.keys(SECTIONS);
for (const section of sectionsRun) {
  if (!(section in SECTIONS))
    throw new Error(
      `--only: unknown section ${section}; one of ${Object.keys(SECTIONS).join(', ')}`,
    );
}
const noHttp = process.argv.includes('--no-http') || onlyArg !== undefined;
const httpRepsArg = process.argv.find((arg) => arg.startsWith('--http-reps='));
const httpCallgrind = process.argv.includes('--http-callgrind');
const callsArg = process.argv.find((arg) => arg.startsWith('--calls='));
const FULL_CONFIG = {
  reps: 3,
  callsC1: 10_000,
  calls: 50_000,
  warmup: 2_000,
  identities: 100_000,
  concurrencies: [1, 64, 256],
};
const CONFIG = quick
  ? {
      reps: 3,
      callsC1: 2_000,
      calls: 10_000,
      warmup: 1_000,
      identities: 20_000,
      concurrencies: [1, 64, 256],
    }
  : { ...FULL_CONFIG };
if (callsArg) CONFIG.calls = Number(callsArg.slice('--calls='.length));
const httpReps = httpRepsArg ? Number(httpRepsArg.slice('--http-reps='.length)) : undefined;
// Quick or reduced runs write bench/quick/; full-sized ones (--no-http and --http-only included:
// they refresh one part of the committed report) write bench/.
const reduced =
  quick ||
  (!httpOnly && CONFIG.calls < FULL_CONFIG.calls) ||
  (!noHttp && httpReps !== undefined && httpReps < HTTP_CONFIG.full.reps);
const outDir = outputDir(reduced);
if (reduced) process.stdout.write(`quick or reduced run: writing ${shown(outDir)}/\n`);
const KEY_SPREADS = [1, 10_000];
/** The systems of the sections run; each runs once per cell, whatever its number of sections. */
const SYSTEMS_RUN = SYSTEMS.filter((system) =>
  sectionsOf(system).some((section) => sectionsRun.includes(section)),
);
/** Memory per identity: one entry per storage format (the library's modes store the same value). */
const MEMORY_SYSTEMS = [...new Set(sectionsRun.flatMap((section) => SECTIONS[section].memory))];
/** `deniedOnly` systems run in the mostly-denied profile only, `allowedOnly` ones in the other. */
const runsIn = (system, mode) =>
  !(system.deniedOnly && mode !== 'denied') && !(system.allowedOnly && mode !== 'allowed');
const PROFILES = {
  allowed: { capacity: 1_000_000, perMs: 1_000 },
  denied: { capacity: 1, perMs: 3_600_000 },
};

// The token-bucket script of the build under test, as `npm run build` copies it, for the
// redis-benchmark table. Builds since the pipeline refactor (44a59c0) have one bucket-script.lua
// taking other arguments instead: that row is then skipped, with a note, not the whole run.
const LIBRARY_SCRIPT = distFile('algorithms/token-bucket.lua');
const libraryScriptFound = existsSync(LIBRARY_SCRIPT);
const redisBenchRun = sectionsRun.includes('token-bucket') && !httpOnly;
if (redisBenchRun && !libraryScriptFound)
  process.stdout.write(
    'redis-benchmark: no algorithms/token-bucket.lua in this build, the library script row is skipped\n',
  );

const started = Date.now();
const server = await startRedisServer();
const url = `redis://127.0.0.1:${server.port}`;
const admin = new Redis(url);
try {
  const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))[1];
  if (!httpOnly) {
    const instances = {};
    for (const mode of Object.keys(PROFILES)) {
      for (const system of SYSTEMS_RUN) {
        if (!runsIn(system, mode)) continue;
        instances[`${mode}/${system.id}`] = await system.setup(
          url,
          PROFILES[mode],
          `b:${mode}:${system.id}:`,
        );
      }
    }
    const cells = [];
    for (const mode of Object.keys(PROFILES))
      for (const keys of KEY_SPREADS)
        for (const concurrency of CONFIG.concurrencies) cells.push({ mode, keys, concurrency });

    const runs = [];
    for (let rep = 0; rep < CONFIG.reps; rep++) {
      for (const [cellIndex, cell] of cells.entries()) {
        const systems = SYSTEMS_RUN.filter(
          (system) => runsIn(system, cell.mode) && !system.skipsCell?.(cell),
        );
        // Rotate the order each repetition so no system always runs first or last.
        const ordered = systems.map((_, i) => systems[(i + rep + cellIndex) % systems.length]);
        for (const system of ordered) {
          const { decide } = instances[`${cell.mode}/${system.id}`];
          const prefix = `c${cell.concurrency}k${cell.keys}:`;
          const calls = cell.concurrency === 1 ? CONFIG.callsC1 : CONFIG.calls;
          const prime = cell.mode === 'denied' && rep === 0 ? cell.keys : 0;
          await runLoad(decide, { ...cell, prefix, calls: CONFIG.warmup + prime, record: false });
          const before = await redisCounters(admin);
          const result = await runLoad(decide, { ...cell, prefix, calls });
          const after = await redisCounters(admin);
          runs.push({
            rep,
            ...cell,
            system: system.id,
            ...result,
            ...perDecision(before, after, calls),
          });
        }
        process.stdout.write(
          `rep ${rep + 1}/${CONFIG.reps} ${cell.mode} keys=${cell.keys} C=${cell.concurrency}\n`,
        );
      }
    }
    for (const instance of Object.values(instances)) await instance.close();

    const memory = {};
    for (const system of SYSTEMS_RUN.filter((s) => MEMORY_SYSTEMS.includes(s.id))) {
      memory[system.id] = await measureMemory(admin, url, system, CONFIG.identities);
      process.stdout.write(
        `memory ${system.id}: ${memory[system.id].bytesPerIdentity.toFixed(1)} B/identity\n`,
      );
    }

    const redisBench = [];
    const scripts = [
      { id: 'ceiling', file: './lib/ceiling.lua', args: (p) => [p.capacity, p.perMs] },
      {
        id: 'library',
        file: LIBRARY_SCRIPT.href,
        args: (p) => ['1', p.capacity, p.perMs * 1000, 1],
      },
    ].filter((script) => script.id !== 'library' || libraryScriptFound);
    for (const mode of redisBenchRun ? Object.keys(PROFILES) : []) {
      for (const pipeline of [1, 16]) {
        for (const script of scripts) {
          await admin.flushall();
          const sha = await admin.script(
            'LOAD',
            readFileSync(new URL(script.file, import.meta.url), 'utf8'),
          );
          const before = await redisCounters(admin);
          const requests = quick ? 50_000 : 200_000;
          const options = { requests, clients: 64, pipeline, keys: 10_000, prefix: 'rb:' };
          const result = redisBenchmark(server.port, sha, script.args(PROFILES[mode]), options);
          const after = await redisCounters(admin);
          redisBench.push({
            mode,
            pipeline,
            script: script.id,
            ...result,
            ...perDecision(before, after, requests),
          });
        }
      }
    }
    await admin.flushall();

    const meta = {
      quick,
      args: process.argv.slice(2),
      config: CONFIG,
      profiles: PROFILES,
      node: process.version,
      redis: redisVersion,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      date: new Date().toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      commit: gitDescribe(),
    };
    // Each section's runs, memory and systems; the token-bucket one is the top level of
    // results.json (as before sections existed), the others under `sections`.
    const sectionResults = (section) => {
      const ids = SYSTEMS_RUN.filter((s) => sectionsOf(s).includes(section)).map((s) => s.id);
      return {
        meta: { ...meta, section },
        runs: runs.filter((run) => ids.includes(run.system)),
        memory: Object.fromEntries(
          SECTIONS[section].memory.filter((id) => id in memory).map((id) => [id, memory[id]]),
        ),
        systems: SYSTEMS_RUN.filter((s) => ids.includes(s.id)).map(({ id, name }) => ({
          id,
          name,
        })),
      };
    };
    const previous = readResults(outDir, 'results.json');
    const { sections: previousSections = {}, ...previousTop } = previous ?? {};
    const top = sectionsRun.includes('token-bucket')
      ? { ...sectionResults('token-bucket'), redisBench }
      : previousTop;
    const sections = { ...previousSections };
    for (const section of sectionsRun)
      if (section !== 'token-bucket') sections[section] = sectionResults(section);
    const report = writeOutputs({ ...top, sections }, outDir);
    process.stdout.write(`done in ${meta.durationS} s: ${report}\n`);
  }
  if (!noHttp) {
    const httpStarted = Date.now();
    await admin.flushall();
    const http = await runHttpBench({
      redisUrl: url,
      admin,
      quick,
      reps: httpReps,
      log: (line) => process.stdout.write(line),
    });
    if (httpCallgrind) {
      const log = (line) => process.stdout.write(line);
      http.callgrind = await runCallgrind({ redisUrl: url, quick, log });
    }
    await admin.flushall();
    const meta = {
      quick,
      args: process.argv.slice(2),
      node: process.version,
      redis: redisVersion,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      date: new Date().toISOString(),
      durationS: Math.round((Date.now() - httpStarted) / 1000),
      commit: gitDescribe(),
    };
    writeResults(outDir, 'http.json', { meta, ...http });
    const report = renderResults(outDir);
    process.stdout.write(
      `http done in ${meta.durationS} s: ${shown(outDir, 'results/http.json')}, ${report}\n`,
    );
  }
} finally {
  admin.disconnect();
  await server.stop();
}

function gitDescribe() {
  if (process.env.BENCH_DIST) return 'BENCH_DIST (a build other than dist/)';
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'lib'], { encoding: 'utf8' }).trim() !==
      '';
    return dirty ? `${head} + uncommitted lib/ changes` : head;
  } catch {
    return 'unknown';
  }
}
