// npm run soak [-- --duration 60]: a bounded soak of the sample app, loopback only.
//
// Each phase starts with --warmup seconds of load that is not measured (open connections, JIT).
// Phase 1 (80% of --duration): the app on its own redis-server, driven at --rate requests a
// second (at most --concurrency in flight) over --identities cold identities and a few hot ones;
// Redis is paused (SIGSTOP) twice for a few seconds and resumed (SIGCONT). Every second: the
// app's heap and RSS (it prints them with SOAK_REPORT=1), Redis used_memory, decisions.
// Phase 2 (20%): the app on its memory store (no REDIS_URL) with RATE_LIMIT_MEMORY_MAX_KEYS,
// driven over the same many identities: the store must stay within that bound.
// Checks (exit code 1 if one fails): heap and RSS flat, no request waiting longer than
// timeoutMs + --margin-ms while Redis was paused, every request answered 2xx or 429, the memory
// store bounded and filled. Writes bench/results/soak.json and soak.md (or --out <dir>).
//
// Identities: /search is limited by client IP, which the app reads from X-Forwarded-For because
// the soak starts it with TRUST_PROXY=loopback (the load comes from 127.0.0.1); /events by
// x-api-key. Needs the built sample app (`npm run soak` builds it), or --entry <main.js>.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/support/redis-process.mjs';
import { startSoakApp } from './lib/soak-app.mjs';
import { driveSoak, HOT_IDENTITIES, HOT_SHARE, soakAgent } from './lib/soak-load.mjs';
import {
  check,
  failures,
  growth,
  HEAP_GROWTH_BOUND,
  overlapping,
  perSecond,
  RSS_GROWTH_BOUND,
  STORE_FILL_SHARE,
  statusCounts,
} from './lib/soak-checks.mjs';
import { renderSoakMarkdown } from './lib/soak-render.mjs';
import { covered, union, watchStalls } from './lib/soak-stalls.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The sample app's timeoutMs: the library default, set explicitly so the check cannot drift. */
const TIMEOUT_MS = 100;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '2' },
    rate: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '64' },
    identities: { type: 'string', default: '20000' },
    'memory-max-keys': { type: 'string', default: '500' },
    'margin-ms': { type: 'string', default: '50' },
    'heap-bound': { type: 'string', default: String(HEAP_GROWTH_BOUND) },
    'rss-bound': { type: 'string', default: String(RSS_GROWTH_BOUND) },
    entry: { type: 'string', default: join(ROOT, 'dist-sample', 'main.js') },
    out: { type: 'string', default: join(ROOT, 'bench', 'results') },
  },
});
const CONFIG = {
  durationS: Number(args.duration),
  warmupS: Number(args.warmup),
  rate: Number(args.rate),
  concurrency: Number(args.concurrency),
  identities: Number(args.identities),
  memoryMaxKeys: Number(args['memory-max-keys']),
  timeoutMs: TIMEOUT_MS,
  marginMs: Number(args['margin-ms']),
  heapGrowthBound: Number(args['heap-bound']),
  rssGrowthBound: Number(args['rss-bound']),
  hotIdentities: HOT_IDENTITIES,
  hotShare: HOT_SHARE,
};
for (const [name, value] of Object.entries(CONFIG)) {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name}: not a positive number`);
}
const redisPhaseMs = Math.round(CONFIG.durationS * 800);
const memoryPhaseMs = Math.round(CONFIG.durationS * 200);
/** Seconds between forced GCs in the app: about four in each third of the Redis phase. */
const gcEvery = Math.max(1, Math.min(5, Math.floor(redisPhaseMs / 12_000)));
/** Two pauses, after the app has warmed and before the last third, a steady state to compare. */
const pauseMs = Math.min(3_000, Math.round(redisPhaseMs * 0.1));
const PAUSES = [0.3, 0.55].map((at) => ({ fromMs: Math.round(redisPhaseMs * at), pauseMs }));

const cleanups = [];
const cleanup = async () => {
  while (cleanups.length > 0)
    await cleanups
      .pop()()
      .catch(() => undefined);
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

async function redisPhase() {
  const server = await startRedisServer();
  cleanups.push(() => server.stop());
  const admin = new Redis(server.url, { commandTimeout: 500, maxRetriesPerRequest: 0 });
  cleanups.push(() => admin.quit());
  const app = await startSoakApp({
    entry: args.entry,
    env: {
      REDIS_URL: server.url,
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_TIMEOUT_MS: String(CONFIG.timeoutMs),
      SOAK_GC_EVERY: String(gcEvery),
    },
  });
  cleanups.push(() => app.stop());
  const agent = soakAgent(CONFIG.concurrency);
  cleanups.push(async () => agent.destroy());
  await warmUp(app, agent);

  const t0 = performance.now();
  // The app reports on the wall clock (timeOrigin + now, sub-millisecond), this run on t0.
  const wallT0 = performance.timeOrigin + t0;
  const now = () => performance.now() - t0;
  const ownStalls = watchStalls(now);
  const pauses = [];
  let paused = false;
  const samples = [];
  const sampler = setInterval(() => {
    const sample = {
      tMs: now(),
      paused,
      ...memoryOf(app.latest()),
      redisUsedMemory: null,
    };
    samples.push(sample);
    if (!paused) {
      void admin.info('memory').then(
        (info) => (sample.redisUsedMemory = Number(/^used_memory:(\d+)/m.exec(info)?.[1])),
        () => undefined,
      );
    }
  }, 1000);
  const pauser = (async () => {
    for (const { fromMs, pauseMs: lengthMs } of PAUSES) {
      await sleep(fromMs - now());
      process.kill(server.pid, 'SIGSTOP');
      paused = true;
      const window = { fromMs: now(), toMs: Number.NaN };
      await sleep(lengthMs);
      process.kill(server.pid, 'SIGCONT');
      paused = false;
      window.toMs = now();
      pauses.push(window);
    }
  })();
  cleanups.push(async () => process.kill(server.pid, 'SIGCONT'));
  const requests = await driveSoak({
    url: app.url,
    agent,
    rate: CONFIG.rate,
    concurrency: CONFIG.concurrency,
    identities: CONFIG.identities,
    durationMs: redisPhaseMs,
    t0,
  });
  await pauser;
  clearInterval(sampler);
  ownStalls.stop();
  // Stalls of the app and of this process, on this run's clock.
  const appStalls = app.reports.flatMap((report) =>
    report.stalls.map(([from, to]) => [from - wallT0, to - wallT0]),
  );
  const stalls = { app: appStalls, own: ownStalls.drain() };
  await sleep(50);
  if (app.exited()) throw new Error(`the sample app died:\n${app.output()}`);
  await cleanup();
  // The heap a full collection left, every fifth report, on this run's clock.
  const heapAfterGc = app.reports
    .filter((report) => typeof report.heapAfterGc === 'number')
    .map((report) => ({ tMs: report.t - wallT0, heapAfterGc: report.heapAfterGc }));
  return { samples, pauses, requests, stalls, heapAfterGc, endMs: now() };
}

async function memoryPhase() {
  const app = await startSoakApp({
    entry: args.entry,
    env: {
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_MEMORY_MAX_KEYS: String(CONFIG.memoryMaxKeys),
    },
  });
  cleanups.push(() => app.stop());
  const agent = soakAgent(CONFIG.concurrency);
  cleanups.push(async () => agent.destroy());
  await warmUp(app, agent);
  const t0 = performance.now();
  const samples = [];
  const sampler = setInterval(
    () => samples.push({ tMs: performance.now() - t0, ...memoryOf(app.latest()) }),
    1000,
  );
  const requests = await driveSoak({
    url: app.url,
    agent,
    rate: CONFIG.rate,
    concurrency: CONFIG.concurrency,
    identities: CONFIG.identities,
    durationMs: memoryPhaseMs,
    t0,
  });
  await sleep(1_100); // one more report, after the last request
  clearInterval(sampler);
  samples.push({ tMs: performance.now() - t0, ...memoryOf(app.latest()) });
  // Every report the app printed, not only those sampled: the bound must hold at each.
  const storeSizes = app.reports.map((report) => report.storeSize);
  await cleanup();
  return { samples, requests, storeSizes };
}

/**
 * Load before the measured phase, so its connections are open and its code is compiled: a cold
 * start is not what a soak measures. Identities of their own, not reused afterwards.
 */
async function warmUp(app, agent) {
  await driveSoak({
    url: app.url,
    agent,
    rate: CONFIG.rate,
    concurrency: CONFIG.concurrency,
    identities: CONFIG.identities,
    durationMs: CONFIG.warmupS * 1000,
    t0: performance.now(),
    warm: true,
  });
}

function memoryOf(report) {
  return report === undefined
    ? { heapUsed: null, rss: null, storeSize: null }
    : { heapUsed: report.heapUsed, rss: report.rss, storeSize: report.storeSize };
}

function verdicts(redis, memory) {
  const checks = [];
  for (const [series, field, bound, label] of [
    [redis.heapAfterGc, 'heapAfterGc', CONFIG.heapGrowthBound, 'heap after a full GC flat (mean'],
    [redis.samples, 'rss', CONFIG.rssGrowthBound, 'RSS flat (mean'],
  ]) {
    const g = growth(series, field, redisPhaseMs);
    const ratio = g === undefined ? Number.NaN : g.last / g.middle - 1;
    checks.push(
      check(
        `${label}, last third vs middle third)`,
        g === undefined ? 'no samples' : `${pct(ratio)} (${mb(g.middle)} → ${mb(g.last)} MB)`,
        `≤ ${pct(bound)}`,
        ratio <= bound,
      ),
    );
  }
  const inPauses = redis.pauses.flatMap((p) => overlapping(redis.requests, p.fromMs, p.toMs));
  const { latencyMs, sentMs } = redis.requests;
  const pauseMax = inPauses.reduce((max, i) => Math.max(max, latencyMs[i]), 0);
  // A starved CPU delays the timeout's timer as much as anything: from each wait, take off the
  // time during it when the app or this process was stalled. A wait tied to Redis, not to
  // timeoutMs, lasts the pause however idle the loops were, and still fails.
  const stalled = union([...redis.stalls.app, ...redis.stalls.own]);
  const stallDuring = (i) => covered(stalled, sentMs[i], sentMs[i] + latencyMs[i]);
  const netMax = inPauses.reduce((max, i) => Math.max(max, latencyMs[i] - stallDuring(i)), 0);
  const limit = CONFIG.timeoutMs + CONFIG.marginMs;
  checks.push(
    check(
      'longest wait of a request overlapping a Redis pause, less event-loop stalls',
      `${netMax.toFixed(1)} ms (raw ${pauseMax.toFixed(1)} ms) over ${inPauses.length} requests`,
      `≤ timeoutMs ${CONFIG.timeoutMs} + ${CONFIG.marginMs} ms`,
      inPauses.length > 0 && netMax <= limit,
    ),
  );
  const undecided = inPauses.filter(
    (i) => redis.requests.decided[i] === 0 && redis.requests.status[i] < 300,
  ).length;
  checks.push(
    check(
      'requests answered by the failure strategy during the pauses',
      String(undecided),
      '> 0 (the pauses were felt)',
      undecided > 0,
    ),
  );
  for (const [phase, result] of [
    ['Redis', redis],
    ['memory', memory],
  ]) {
    const bad = failures(statusCounts(result.requests));
    checks.push(check(`${phase} phase: answers other than 2xx/429`, String(bad), '0', bad === 0));
  }
  const sizes = memory.storeSizes.filter((size) => typeof size === 'number');
  const maxSize = Math.max(0, ...sizes);
  checks.push(
    check(
      'memory store size, largest of every report',
      `${maxSize} over ${sizes.length} reports`,
      `≤ memoryStoreMaxKeys ${CONFIG.memoryMaxKeys}, ≥ ${STORE_FILL_SHARE * 100}% of it`,
      sizes.length > 0 &&
        maxSize <= CONFIG.memoryMaxKeys &&
        maxSize >= STORE_FILL_SHARE * CONFIG.memoryMaxKeys,
    ),
  );
  const slowest = [...inPauses]
    .sort((x, y) => latencyMs[y] - stallDuring(y) - (latencyMs[x] - stallDuring(x)))
    .slice(0, 5)
    .map((i) => ({
      sentMs: Math.round(sentMs[i]),
      latencyMs: Number(latencyMs[i].toFixed(1)),
      stallMs: Number(stallDuring(i).toFixed(1)),
      status: redis.requests.status[i],
      decided: redis.requests.decided[i] === 1,
    }));
  return {
    checks,
    pauseMaxMs: pauseMax,
    pauseNetMaxMs: netMax,
    slowest,
    steady: steadyLatency(redis, new Set(inPauses)),
  };
}

/** Count, longest and total of a process's stalls, in ms. */
function describeStalls(intervals) {
  const lengths = intervals.map(([from, to]) => to - from);
  return {
    count: lengths.length,
    longestMs: Number(lengths.reduce((max, v) => Math.max(max, v), 0).toFixed(1)),
    totalMs: Number(lengths.reduce((sum, v) => sum + v, 0).toFixed(1)),
  };
}

/** Latency of the requests that overlapped no pause: the machine's own noise, for reference. */
function steadyLatency(redis, inPauses) {
  const latencies = [];
  for (let i = 0; i < redis.requests.sent; i++) {
    const latency = redis.requests.latencyMs[i];
    if (!inPauses.has(i) && !Number.isNaN(latency)) latencies.push(latency);
  }
  latencies.sort((x, y) => x - y);
  const at = (q) => Number((latencies[Math.floor(q * (latencies.length - 1))] ?? 0).toFixed(1));
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}

function timeline(redis) {
  const seconds = perSecond(redis.requests, 0, redis.endMs);
  return seconds.map((row, second) => {
    const sample = redis.samples.find((s) => s.tMs >= second * 1000 + 500) ?? redis.samples.at(-1);
    const paused = redis.pauses.some(
      (p) => p.fromMs < (second + 1) * 1000 && p.toMs > second * 1000,
    );
    const collected = redis.heapAfterGc.find(
      (entry) => entry.tMs >= second * 1000 && entry.tMs < (second + 1) * 1000,
    );
    return {
      second: second + 1,
      paused,
      heapUsed: sample?.heapUsed ?? null,
      heapAfterGc: collected?.heapAfterGc ?? null,
      rss: sample?.rss ?? null,
      redisUsedMemory: sample?.redisUsedMemory ?? null,
      answers: row.answers,
      decisions: row.decisions,
      maxLatencyMs: Number(row.maxMs.toFixed(1)),
    };
  });
}

const pct = (ratio) => `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)}%`;
const mb = (bytes) => (bytes / 1_048_576).toFixed(1);

let exitCode = 2;
try {
  const startedAt = new Date();
  console.log(
    `soak: ${CONFIG.durationS} s (${redisPhaseMs / 1000} s on Redis, paused ${PAUSES.length}× ` +
      `${pauseMs / 1000} s; ${memoryPhaseMs / 1000} s on the memory store), ${CONFIG.rate} req/s, ` +
      `${CONFIG.identities} identities`,
  );
  const redis = await redisPhase();
  const memory = await memoryPhase();
  const { checks, pauseMaxMs, pauseNetMaxMs, slowest, steady } = verdicts(redis, memory);
  const rows = timeline(redis);
  const decisions = rows.reduce((sum, row) => sum + row.decisions, 0);
  const result = {
    date: startedAt.toISOString(),
    node: process.version,
    config: { ...CONFIG, redisPhaseMs, memoryPhaseMs, gcEveryS: gcEvery, pauses: PAUSES },
    pauses: redis.pauses.map((p) => ({ fromMs: Math.round(p.fromMs), toMs: Math.round(p.toMs) })),
    summary: {
      sent: redis.requests.sent + memory.requests.sent,
      redisPhase: {
        sent: redis.requests.sent,
        statuses: statusCounts(redis.requests),
        transportErrors: redis.requests.errors,
        decisionsPerSecond: Math.round(decisions / (redis.endMs / 1000)),
        pauseMaxLatencyMs: Number(pauseMaxMs.toFixed(1)),
        pauseMaxLatencyLessStallsMs: Number(pauseNetMaxMs.toFixed(1)),
        appStalls: describeStalls(redis.stalls.app),
        ownStalls: describeStalls(redis.stalls.own),
        steadyLatencyMs: steady,
        slowestInPauses: slowest,
        redisUsedMemoryMax: Math.max(0, ...rows.map((row) => row.redisUsedMemory ?? 0)),
      },
      memoryPhase: {
        sent: memory.requests.sent,
        statuses: statusCounts(memory.requests),
        transportErrors: memory.requests.errors,
        storeSizes: memory.storeSizes,
      },
    },
    checks,
    passed: checks.every((c) => c.pass),
    timeline: rows,
  };
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(args.out, 'soak.md'), renderSoakMarkdown(result));
  console.table(
    rows
      .filter((row, i) => i % 5 === 4 || row.paused || row.heapAfterGc !== null)
      .map((row) => ({
        s: row.second,
        paused: row.paused ? 'yes' : '',
        'heap MB': row.heapUsed === null ? '' : mb(row.heapUsed),
        'after GC': row.heapAfterGc === null ? '' : mb(row.heapAfterGc),
        'RSS MB': row.rss === null ? '' : mb(row.rss),
        'Redis MB': row.redisUsedMemory === null ? '' : mb(row.redisUsedMemory),
        'decisions/s': row.decisions,
        'max ms': row.maxLatencyMs,
      })),
  );
  console.table(
    checks.map((c) => ({ check: c.name, measured: c.measured, bound: c.bound, pass: c.pass })),
  );
  console.log(
    `latency outside the pauses: p50 ${steady.p50} ms, p99 ${steady.p99} ms, max ${steady.max} ms`,
  );
  console.log(
    `soak ${result.passed ? 'passed' : 'FAILED'}; wrote ${relative(ROOT, args.out)}/soak.{json,md}`,
  );
  exitCode = result.passed ? 0 : 1;
} catch (error) {
  console.error(error);
} finally {
  await cleanup();
}
process.exit(exitCode);
