// Before/after of a lib/ change in one run:
//   npm run bench:compare --prefix bench -- --baseline=<git-rev> [--current=<git-rev>] [--quick]
// builds the baseline revision (git archive into a temporary directory, npm run build there) and
// the current library (the working tree's npm run build, or --current's revision built like the
// baseline), then measures both in the same repetitions, interleaved (order rotated each
// repetition): RateLimitService.consume()'s Node CPU per decision (concurrency 64, 10,000 keys,
// mostly-allowed) and the Express guard's server CPU per request (autocannon, 50 connections),
// against its own redis-server on a free loopback port. Writes results/compare.json and the
// "Before/after" section of RESULTS.md (bench/quick/ with --quick), then removes the builds.
//
// Without --baseline: the PAIRS of bench/lib/compare-variants.mjs (e.g. two limits vs one), each
// pair's two variants on the current build, measured the same way ("Variants" section).
// --variants=a,b: variants compared before/after (default: default); --pairs=x,y: pairs run
// without a baseline (default: all); --reps=N (at least 5, default 5).
import process from 'node:process';
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/support/redis-process.mjs';
import { buildRevision, buildWorkingTree } from './lib/builds.mjs';
import {
  PAIRS,
  comparePair,
  compareVariant,
  variantLimits,
  variantOptions,
} from './lib/compare-variants.mjs';
import { renderCompareSection } from './lib/compare-report.mjs';
import { runLoad } from './lib/load.mjs';
import { outputDir, readResults, renderResults, shown, writeResults } from './lib/outputs.mjs';
import { perDecision, redisCounters } from './lib/redis-stats.mjs';
import { library } from './lib/systems.mjs';
import { runAutocannon } from './http/load.mjs';
import { measureWindow } from './http/run-http.mjs';
import { startServer } from './http/server-process.mjs';
import { CLIENT_IDS, VARIANTS as HTTP_VARIANTS } from './http/variants.mjs';

const args = process.argv.slice(2);
const option = (name) =>
  args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) || undefined;
const list = (name) => option(name)?.split(',').filter(Boolean);
const quick = args.includes('--quick');
const baselineRev = option('baseline');
const currentRev = option('current');
const reps = Number(option('reps') ?? 5);
if (!Number.isInteger(reps) || reps < 5) throw new Error('--reps: at least 5 repetitions');

/** The mostly-allowed profile of bench/run.mjs: capacity 1,000,000, one token per second. */
const PROFILE = { capacity: 1_000_000, perMs: 1_000 };
const CONFIG = {
  consume: quick
    ? { concurrency: 64, keys: 10_000, firstWarmup: 5_000, warmup: 1_000, calls: 10_000 }
    : { concurrency: 64, keys: 10_000, firstWarmup: 20_000, warmup: 2_000, calls: 50_000 },
  http: {
    connections: 50,
    clientIds: CLIENT_IDS,
    ...(quick
      ? { firstWarmup: 3_000, warmupS: 0.25, seconds: 1 }
      : { firstWarmup: 10_000, warmupS: 1, seconds: 4 }),
  },
};
const HTTP_BARE = HTTP_VARIANTS.find((v) => v.id === 'express-bare');
const HTTP_LIBRARY = HTTP_VARIANTS.find((v) => v.id === 'express-library');

const log = (line) => process.stdout.write(`${line}\n`);
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

// Sides (a build with a variant) and rows (B against A), before anything is built.
const sides = [];
const rows = [];
const side = (build, variantId) => {
  const id = `${build}/${variantId}`;
  if (!sides.some((s) => s.id === id)) {
    const variant = compareVariant(variantId);
    sides.push({ id, build, variant: variantId, variantName: variant.name });
  }
  return id;
};
if (baselineRev) {
  for (const id of list('variants') ?? ['default']) {
    rows.push({
      id,
      name: compareVariant(id).name,
      a: side('baseline', id),
      b: side('current', id),
    });
  }
} else {
  for (const id of list('pairs') ?? PAIRS.map((p) => p.id)) {
    const pair = comparePair(id);
    rows.push({
      id,
      name: pair.name,
      aName: compareVariant(pair.a).name,
      bName: compareVariant(pair.b).name,
      a: side('current', pair.a),
      b: side('current', pair.b),
    });
  }
}

const builds = {};
const cleanups = [];
let redisServer;
// Interrupted: remove the builds and stop redis-server; the HTTP servers exit with their IPC channel.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const cleanup of cleanups) cleanup();
    redisServer?.process.kill('SIGKILL');
    process.exit(130);
  });
}

const instances = new Map();
const servers = [];
let admin;
try {
  const buildStarted = Date.now();
  builds.current = currentRev ? buildRevision(currentRev) : buildWorkingTreeOrExplain();
  cleanups.push(builds.current.cleanup);
  log(`built current ${builds.current.label} (${elapsed()})`);
  if (baselineRev) {
    builds.baseline = buildRevision(baselineRev);
    cleanups.push(builds.baseline.cleanup);
    log(`built baseline ${builds.baseline.label} (${elapsed()})`);
  }
  const buildS = Math.round((Date.now() - buildStarted) / 1000);

  redisServer = await startRedisServer();
  const url = `redis://127.0.0.1:${redisServer.port}`;
  admin = new Redis(url);
  const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))[1];

  for (const [index, s] of sides.entries()) {
    const variant = compareVariant(s.variant);
    // As for the HTTP guard (bench/http/variants.mjs): a 100 ms store timeout fires on a loaded
    // 2-core machine and the failure strategy then answers without Redis, a cheaper path.
    const options = (lib) => ({ timeoutMs: 10_000, ...variantOptions(variant, lib) });
    const setup = library(
      options,
      {},
      {
        dist: builds[s.build].dist,
        limits: (_profile, base) => variantLimits(variant, base),
      },
    );
    instances.set(s.id, await setup(url, PROFILE, `cmp${index}:`));
  }
  const launched = await Promise.allSettled([
    startServer(HTTP_BARE, url).then((server) => ({ ...server, side: 'bare' })),
    ...sides.map((s, index) =>
      startServer(HTTP_LIBRARY, url, {
        library: { dist: builds[s.build].dist, keyPrefix: `cmp${index}`, variant: s.variant },
      }).then((server) => ({ ...server, side: s.id })),
    ),
  ]);
  for (const outcome of launched) if (outcome.status === 'fulfilled') servers.push(outcome.value);
  const failed = launched.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;

  // JIT warm-up, once per side: consume() in turn, the HTTP servers all at once.
  const { consume, http } = CONFIG;
  for (const s of sides) {
    const { decide } = instances.get(s.id);
    await runLoad(decide, { ...consume, calls: consume.firstWarmup, record: false });
  }
  await Promise.all(
    servers.map((server) =>
      runAutocannon({ ...server, ...http, amount: http.firstWarmup, record: false }),
    ),
  );
  log(`${sides.length} sides ready, ${servers.length} HTTP servers warmed (${elapsed()})`);

  const runs = [];
  for (let rep = 0; rep < reps; rep++) {
    const rotate = (items) => items.map((_, i) => items[(i + rep) % items.length]);
    for (const s of rotate(sides)) {
      const { decide, storeErrors } = instances.get(s.id);
      await runLoad(decide, { ...consume, calls: consume.warmup, record: false });
      const before = await redisCounters(admin);
      const errorsBefore = storeErrors();
      const result = await runLoad(decide, consume);
      const after = await redisCounters(admin);
      runs.push({
        rep,
        measure: 'consume',
        side: s.id,
        ...result,
        storeErrors: storeErrors() - errorsBefore,
        ...perDecision(before, after, consume.calls),
      });
    }
    for (const server of rotate(servers)) {
      const result = await measureWindow(server, http, admin);
      runs.push({ rep, measure: 'http', side: server.side, ...result });
    }
    log(`rep ${rep + 1}/${reps} (${elapsed()})`);
  }
  for (const run of runs) {
    if (run.measure !== 'http' || run.side === 'bare') continue;
    const bare = runs.find((r) => r.measure === 'http' && r.side === 'bare' && r.rep === run.rep);
    run.overBareCpuUs = run.serverCpuUs - bare.serverCpuUs;
  }

  const kind = baselineRev ? 'beforeAfter' : 'variants';
  const describe = ({ sha, short, subject, label, source }) => ({
    sha,
    short,
    subject,
    label,
    source,
  });
  const result = {
    meta: {
      kind,
      command: `npm run bench:compare --prefix bench -- ${args.join(' ')}`.trimEnd(),
      args,
      quick,
      date: new Date().toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      buildS,
      reps,
      profile: PROFILE,
      config: CONFIG,
      builds: Object.fromEntries(Object.entries(builds).map(([id, b]) => [id, describe(b)])),
      node: process.version,
      redis: redisVersion,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
    },
    sides,
    rows,
    runs,
  };
  const dir = outputDir(quick);
  writeResults(dir, 'compare.json', { ...readResults(dir, 'compare.json'), [kind]: result });
  const report = renderResults(dir);
  log('');
  log(renderCompareSection(result).join('\n'));
  log(`done in ${elapsed()}: ${shown(dir, 'results/compare.json')}, ${report}`);
} finally {
  for (const instance of instances.values()) await instance.close();
  await Promise.all(servers.map((server) => server.stop()));
  admin?.disconnect();
  await redisServer?.stop();
  for (const cleanup of cleanups) cleanup();
}

function buildWorkingTreeOrExplain() {
  try {
    return buildWorkingTree();
  } catch (error) {
    error.message +=
      '\nThe working tree does not build: compare two committed revisions with --current=<rev>.';
    throw error;
  }
}
