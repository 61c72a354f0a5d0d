// npm run bench:multi [-- --quick]: 4 sample-app processes (dist-sample/, built by the npm
// script) against one redis-server and against a 3-master Redis Cluster, per round-trip mode.
// Per mode: a throughput run (10,000 keys, mostly allowed, as fast as the apps answer), an
// accuracy run (one key at 4x its limit, paced) and hot-key runs (one key, every instance, as fast
// as they answer, on /events and on the slow /public). Writes bench/results/multi-instance.json
// and multi-instance.md (bench/quick/results/ with --quick).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { outputDir, shown, writeResults } from './lib/outputs.mjs';
import { startRedisCluster } from '../test/support/redis-cluster.mjs';
import { startRedisServer } from '../test/support/redis-process.mjs';
import { driveRoundRobin } from '../test/support/round-robin-load.mjs';
import { BUILT_SAMPLE_APP, startSampleApps } from '../test/support/sample-app-process.mjs';

const quick = process.argv.includes('--quick');
const INSTANCES = 4;
/** Limits of the sample app's routes: sample-app/src/events/event-limits.ts, public/. */
const EVENTS = { path: '/events', method: 'POST', capacity: 100, perS: 200 };
const PUBLIC = { path: '/public', method: 'GET', capacity: 5, perS: 5 / 60 };
const MODES = ['plain', 'deny-cache', 'lease'];
const CONFIG = quick
  ? { warmupMs: 300, accuracyMs: 1_500, throughputMs: 750, hotMs: 750, concurrency: 64 }
  : { warmupMs: 1_000, accuracyMs: 4_000, throughputMs: 3_000, hotMs: 2_500, concurrency: 64 };
/**
 * Leases left when a run ends are given back when they expire (ttlMs 1000, swept every 100 ms):
 * wait for those refunds so they count against the run that took the leases.
 */
const LEASE_SETTLE_MS = 1_300;
/** Paced like the test: 4x the limit of the one key. */
const ACCURACY_RATE = 4 * EVENTS.perS;
/** "As fast as they answer": a schedule no run can keep, bounded by the run's time. */
const FLOOD_RATE = 1_000_000;
const THROUGHPUT_KEYS = 10_000;
// Above the 100 ms default, so a slow reply on a loaded machine is a slow decision, not a
// failure-strategy pass (counted apart as undecided).
const TIMEOUT_MS = '2000';

/**
 * Commands the library's Lua scripts run inside Redis: commandstats counts them like any other,
 * but they cost no round trip. Every other command a client sent is one (or shares one, when
 * pipelined).
 */
const IN_SCRIPT = scriptCommands(new URL('../lib/', import.meta.url));

if (!existsSync(BUILT_SAMPLE_APP)) {
  throw new Error(`${BUILT_SAMPLE_APP} is missing: run npm run bench:multi (it builds first)`);
}

const BACKENDS = [
  {
    id: 'standalone',
    name: 'one redis-server',
    async start() {
      const server = await startRedisServer();
      return { env: { REDIS_URL: server.url }, ports: [server.port], stop: () => server.stop() };
    },
  },
  {
    id: 'cluster',
    name: 'Redis Cluster, 3 masters',
    async start() {
      const cluster = await startRedisCluster();
      return {
        env: { REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',') },
        ports: cluster.nodes.map((n) => n.port),
        stop: () => cluster.stop(),
      };
    },
  },
];

const started = Date.now();
const meta = {
  quick,
  config: { ...CONFIG, instances: INSTANCES, accuracyRate: ACCURACY_RATE },
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))),
  date: new Date().toISOString(),
  commit: gitDescribe(),
};
const results = [];

for (const backend of BACKENDS) {
  const running = await backend.start();
  const admins = running.ports.map((port) => new Redis({ port, host: '127.0.0.1' }));
  try {
    meta.redis ??= /redis_version:(\S+)/.exec(await admins[0].info('server'))[1];
    for (const mode of MODES) {
      // Fresh buckets: /public's one per IP would stay empty from the previous mode.
      await Promise.all(admins.map((admin) => admin.flushall()));
      const apps = await startSampleApps(INSTANCES, {
        entry: BUILT_SAMPLE_APP,
        env: { ...running.env, RATE_LIMIT_MODE: mode, RATE_LIMIT_TIMEOUT_MS: TIMEOUT_MS },
      });
      const urls = apps.map((app) => app.url);
      try {
        const run = async (kind, route, options) => {
          const before = await commandCounts(admins);
          const load = await driveRoundRobin({
            urls,
            path: route.path,
            method: route.method,
            concurrency: CONFIG.concurrency,
            recordTimings: options.identities.length === 1,
            ...options,
          });
          if (mode === 'lease') await sleep(LEASE_SETTLE_MS);
          const after = await commandCounts(admins);
          const result = summarize(kind, route, load, diff(before, after));
          results.push({ backend: backend.id, mode, ...result });
          process.stdout.write(`${backend.id} ${mode} ${kind}: ${line(result)}\n`);
        };
        // JIT, connections, script loading: not measured.
        await driveRoundRobin({
          urls,
          path: '/events',
          concurrency: CONFIG.concurrency,
          identities: Array.from({ length: 100 }, (_, i) => `${mode}-warmup-${i}`),
          rate: FLOOD_RATE,
          durationMs: CONFIG.warmupMs,
          maxDurationMs: CONFIG.warmupMs,
        });
        await run('throughput', EVENTS, {
          identities: Array.from({ length: THROUGHPUT_KEYS }, (_, i) => `${mode}-many-${i}`),
          rate: FLOOD_RATE,
          durationMs: CONFIG.throughputMs,
          maxDurationMs: CONFIG.throughputMs,
        });
        await run('accuracy', EVENTS, {
          identities: [`${mode}-accuracy`],
          rate: ACCURACY_RATE,
          durationMs: CONFIG.accuracyMs,
        });
        await run('hot-key', EVENTS, {
          identities: [`${mode}-hot`],
          rate: FLOOD_RATE,
          durationMs: CONFIG.hotMs,
          maxDurationMs: CONFIG.hotMs,
        });
        // The same flood on a slow limit: a denial is cached for 12 s, not 5 ms.
        await run('hot-key /public', PUBLIC, {
          identities: ['127.0.0.1'],
          rate: FLOOD_RATE,
          durationMs: CONFIG.hotMs,
          maxDurationMs: CONFIG.hotMs,
        });
      } finally {
        await Promise.all(apps.map((app) => app.stop()));
      }
    }
  } finally {
    for (const admin of admins) admin.disconnect();
    await running.stop();
  }
}

meta.durationS = Math.round((Date.now() - started) / 1000);
const json = { meta, results };
// A quick run writes bench/quick/results/ (git-ignored), not the committed files.
const outDir = outputDir(quick);
writeResults(outDir, 'multi-instance.json', json);
writeFileSync(new URL('results/multi-instance.md', outDir), renderMarkdown(json));
process.stdout.write(
  `done in ${meta.durationS} s: ${shown(outDir, 'results/multi-instance.json')}, multi-instance.md\n`,
);

/** Calls per command, summed over every node (INFO itself left out). */
async function commandCounts(admins) {
  const counts = {};
  for (const admin of admins) {
    const info = await admin.info('commandstats');
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (match[1] === 'info') continue;
      counts[match[1]] = (counts[match[1]] ?? 0) + Number(match[2]);
    }
  }
  return counts;
}

function diff(before, after) {
  const delta = {};
  for (const [name, count] of Object.entries(after)) {
    if (count - (before[name] ?? 0) > 0) delta[name] = count - (before[name] ?? 0);
  }
  return delta;
}

function summarize(kind, route, load, commands) {
  const identities = Object.values(load.perIdentity);
  const sum = (field) => identities.reduce((total, stats) => total + stats[field], 0);
  const otherOutcomes = {};
  for (const stats of identities) {
    for (const [outcome, count] of Object.entries(stats.other)) {
      otherOutcomes[outcome] = (otherOutcomes[outcome] ?? 0) + count;
    }
  }
  const other = Object.values(otherOutcomes).reduce((a, b) => a + b, 0);
  const answered = sum('allowed') + sum('denied') + sum('undecided') + other;
  const seconds = (load.end - load.start) / 1000;
  const roundTrips = Object.entries(commands)
    .filter(([name]) => !IN_SCRIPT.has(name))
    .reduce((total, [, count]) => total + count, 0);
  const scripts = (commands.evalsha ?? 0) + (commands.eval ?? 0);
  const result = {
    kind,
    requests: answered,
    seconds: round(seconds, 3),
    requestsPerS: Math.round(answered / seconds),
    allowed: sum('allowed'),
    denied: sum('denied'),
    undecided: sum('undecided'),
    other,
    otherOutcomes,
    roundTripsPerRequest: round(roundTrips / answered, 3),
    scriptsPerRequest: round(scripts / answered, 3),
    commands,
  };
  if (identities.length === 1) {
    // One key: at most a full bucket plus the refill from the first send to the last reply; at
    // least what an exact bucket admits for the same requests (timed at send or at reply,
    // whichever admits fewer), as in test/integration/multi-instance.int-spec.ts.
    const [stats] = identities;
    const upper = route.capacity + (route.perS * (stats.lastReply - stats.firstSent)) / 1000;
    const exact = Math.min(
      exactBucket(
        route,
        stats.timings.map(([sent]) => sent),
      ),
      exactBucket(
        route,
        stats.timings.map(([, reply]) => reply),
      ),
    );
    result.budget = { upper: round(upper, 1), exactBucket: exact };
    result.accuracy = round(stats.allowed / upper, 4);
    result.ofExactBucket = round(stats.allowed / exact, 4);
    result.offeredPerS = Math.round(stats.sent / ((stats.lastSent - stats.firstSent) / 1000));
  }
  return result;
}

function line(result) {
  const accuracy =
    result.accuracy === undefined ? '' : `, accuracy ${(100 * result.accuracy).toFixed(2)}%`;
  return (
    `${result.requestsPerS} req/s, ${result.allowed}/${result.requests} allowed${accuracy}, ` +
    `${result.roundTripsPerRequest} Redis round trips/request` +
    (result.undecided + result.other > 0 ? `, undecided/errors: ${outcomes(result)}` : '')
  );
}

function renderMarkdown({ meta, results }) {
  const percent = (value) => `${(100 * value).toFixed(2)}%`;
  const rows = results.map((r) =>
    [
      r.backend,
      r.mode,
      r.kind,
      r.requestsPerS,
      `${r.allowed} / ${r.requests}`,
      r.offeredPerS ?? '',
      r.accuracy === undefined ? '' : `${percent(r.accuracy)} (${percent(r.ofExactBucket)})`,
      r.roundTripsPerRequest,
      r.scriptsPerRequest,
      outcomes(r),
    ].join(' | '),
  );
  return `## Multi-instance: 4 sample-app processes, round-robin

\`npm run bench:multi${meta.quick ? ' -- --quick' : ''}\` on ${meta.date.slice(0, 10)} (${meta.commit}):
${meta.cpus} × ${meta.cpuModel}, Node ${meta.node}, Redis ${meta.redis}; load average at start
${meta.loadAverageAtStart.join(', ')} (a shared machine: the 4 apps, Redis and the load generator
share its cores, so req/s is the machine's, not Redis's). Total ${meta.durationS} s.

Each run sends requests to the ${meta.config.instances} instances in turn, over loopback HTTP with
keep-alive, at most ${meta.config.concurrency} in flight. \`POST /events\` is limited to
${EVENTS.capacity} at once and ${EVENTS.perS}/s per key; \`GET /public\` to 5 at once and 5/min per IP.
Modes (\`RATE_LIMIT_MODE\`): **plain** \`denyCache: false\`; **deny-cache** the default; **lease**
the deny cache plus \`lease: { tokens: 10, ttlMs: 1000 }\` on \`/events\`.

In lease mode each run's count waits ${LEASE_SETTLE_MS / 1000} s after it for the refunds of its expired leases.

- **throughput**: ${THROUGHPUT_KEYS.toLocaleString('en')} keys in turn on \`/events\`, nearly all allowed, as fast as the
  instances answer for ${meta.config.throughputMs / 1000} s: decisions per second.
- **accuracy**: one key on \`/events\`, paced at ${meta.config.accuracyRate}/s (4× its limit) for ${meta.config.accuracyMs / 1000} s.
- **hot-key**: one key on \`/events\` hammered by every instance as fast as they answer for
  ${meta.config.hotMs / 1000} s. **hot-key /public**: the same on a slow limit, where a cached denial lasts 12 s.

Accuracy is allowed / (capacity + rate × elapsed), elapsed from the first request sent to the
last reply: the most a correct limiter may admit (over 100% would be over-admission). In brackets,
allowed / what an exact token bucket admits for the same requests, timed at their send or at their
reply, whichever admits fewer: the fair lower reference when the load generator cannot keep the
rate steady (the test asserts at least 98% of it, less 40 tokens of unspent leases in lease mode).
"sent/s" is the rate at which that key's requests went out.

Round trips per request are INFO commandstats deltas summed over every node (cluster: the three
masters), without INFO and without the commands the library's scripts run inside Redis
(${[...IN_SCRIPT].join(', ')}): the commands clients sent. ioredis may send several in one network
write (pipelining), so this is an upper bound on network round trips. Scripts are EVALSHA + EVAL.
The raw counts per command are in multi-instance.json.

| backend | mode | run | req/s | allowed / requests | sent/s | accuracy (of exact bucket) | round trips/req | scripts/req | undecided, errors |
| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.map((row) => `| ${row} |`).join('\n')}
`;
}

/** Undecided requests (failure strategy) and other outcomes, e.g. `0` or `1 (ECONNRESET: 1)`. */
function outcomes({ undecided, other, otherOutcomes }) {
  if (other === 0) return String(undecided);
  const detail = Object.entries(otherOutcomes).map(([outcome, count]) => `${outcome}: ${count}`);
  return `${undecided + other} (${detail.join(', ')})`;
}

/** Requests a token bucket (full at first, 1 token each, denials free) admits at these instants. */
function exactBucket({ capacity, perS }, instants) {
  const sorted = [...instants].sort((a, b) => a - b);
  let [tokens, last, admitted] = [capacity, sorted[0] ?? 0, 0];
  for (const at of sorted) {
    tokens = Math.min(capacity, tokens + (perS * (at - last)) / 1000);
    last = at;
    if (tokens >= 1) [tokens, admitted] = [tokens - 1, admitted + 1];
  }
  return admitted;
}

/** Lower-case names of the commands called by the .lua files under `dir`. */
function scriptCommands(dir) {
  const names = new Set();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.lua')) continue;
    const lua = readFileSync(`${entry.parentPath}/${entry.name}`, 'utf8');
    for (const match of lua.matchAll(/redis\.p?call\(\s*['"]([A-Za-z]+)['"]/g)) {
      names.add(match[1].toLowerCase());
    }
  }
  return names;
}

function round(value, digits) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function gitDescribe() {
  try {
    const git = (...args) => execFileSync('git', args, { encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'lib', 'sample-app') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted lib/sample-app edits' : ''}`;
  } catch {
    return 'unknown';
  }
}
