// npm run bench:multi [-- --quick]: 4 sample-app processes (dist-sample/, built by the npm
// script) against one redis-server and against a 3-master Redis Cluster, per round-trip mode.
// Per mode: an accuracy run (one key at 4x its limit, paced), a throughput run (10,000 keys,
// mostly allowed, as fast as the apps answer) and a hot-key run (one key, every instance, as fast
// as they answer). Writes bench/results/multi-instance.json and multi-instance.md.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import process from 'node:process';
import { Redis } from 'ioredis';
import { startRedisCluster } from '../test/support/redis-cluster.mjs';
import { startRedisServer } from '../test/support/redis-process.mjs';
import { driveRoundRobin } from '../test/support/round-robin-load.mjs';
import { BUILT_SAMPLE_APP, startSampleApps } from '../test/support/sample-app-process.mjs';

const quick = process.argv.includes('--quick');
const INSTANCES = 4;
/** The /events limit of the sample app (sample-app/src/events/event-limits.ts). */
const LIMIT = { capacity: 100, perS: 200 };
const MODES = ['plain', 'deny-cache'];
const CONFIG = quick
  ? { warmupMs: 500, accuracyMs: 2_000, throughputMs: 1_500, hotMs: 1_500, concurrency: 64 }
  : { warmupMs: 1_500, accuracyMs: 5_000, throughputMs: 4_000, hotMs: 4_000, concurrency: 64 };
/** Paced like the test: 4x the limit of the one key. */
const ACCURACY_RATE = 4 * LIMIT.perS;
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
  config: { ...CONFIG, instances: INSTANCES, limit: LIMIT, accuracyRate: ACCURACY_RATE },
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
      const apps = await startSampleApps(INSTANCES, {
        entry: BUILT_SAMPLE_APP,
        env: { ...running.env, RATE_LIMIT_MODE: mode, RATE_LIMIT_TIMEOUT_MS: TIMEOUT_MS },
      });
      const urls = apps.map((app) => app.url);
      try {
        const run = async (kind, options) => {
          const before = await commandCounts(admins);
          const load = await driveRoundRobin({
            urls,
            path: '/events',
            concurrency: CONFIG.concurrency,
            ...options,
          });
          const after = await commandCounts(admins);
          const result = summarize(kind, load, diff(before, after));
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
        await run('throughput', {
          identities: Array.from({ length: THROUGHPUT_KEYS }, (_, i) => `${mode}-many-${i}`),
          rate: FLOOD_RATE,
          durationMs: CONFIG.throughputMs,
          maxDurationMs: CONFIG.throughputMs,
        });
        await run('accuracy', {
          identities: [`${mode}-accuracy`],
          rate: ACCURACY_RATE,
          durationMs: CONFIG.accuracyMs,
        });
        await run('hot-key', {
          identities: [`${mode}-hot`],
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
writeFileSync(
  new URL('./results/multi-instance.json', import.meta.url),
  JSON.stringify(json, null, 1),
);
writeFileSync(new URL('./results/multi-instance.md', import.meta.url), renderMarkdown(json));
process.stdout.write(
  `done in ${meta.durationS} s: bench/results/multi-instance.json, multi-instance.md\n`,
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

function summarize(kind, load, commands) {
  const identities = Object.values(load.perIdentity);
  const sum = (field) => identities.reduce((total, stats) => total + stats[field], 0);
  const other = identities.reduce(
    (total, stats) => total + Object.values(stats.other).reduce((a, b) => a + b, 0),
    0,
  );
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
    roundTripsPerRequest: round(roundTrips / answered, 3),
    scriptsPerRequest: round(scripts / answered, 3),
    commands,
  };
  if (kind !== 'throughput') {
    // One key: its budget over the widest and the narrowest window holding its decisions.
    const [stats] = identities;
    const upper = LIMIT.capacity + (LIMIT.perS * (stats.lastReply - stats.firstSent)) / 1000;
    const lower = LIMIT.capacity + (LIMIT.perS * (stats.lastSent - stats.firstReply)) / 1000;
    result.budget = { lower: round(lower, 1), upper: round(upper, 1) };
    result.accuracy = round(stats.allowed / upper, 4);
    result.accuracyOfLower = round(stats.allowed / lower, 4);
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
    (result.undecided + result.other > 0
      ? `, ${result.undecided + result.other} undecided/errors`
      : '')
  );
}

function renderMarkdown({ meta, results }) {
  const rows = results.map((r) =>
    [
      r.backend,
      r.mode,
      r.kind,
      r.requestsPerS,
      `${r.allowed} / ${r.requests}`,
      r.accuracy === undefined
        ? ''
        : `${(100 * r.accuracy).toFixed(2)}% (${(100 * r.accuracyOfLower).toFixed(2)}% of lower; ${r.offeredPerS}/s sent)`,
      r.roundTripsPerRequest,
      r.scriptsPerRequest,
      r.undecided + r.other,
    ].join(' | '),
  );
  return `## Multi-instance: 4 sample-app processes, round-robin

\`npm run bench:multi${meta.quick ? ' -- --quick' : ''}\` on ${meta.date.slice(0, 10)} (${meta.commit}):
${meta.cpus} × ${meta.cpuModel}, Node ${meta.node}, Redis ${meta.redis}; load average at start
${meta.loadAverageAtStart.join(', ')} (a shared machine: the apps, Redis and the load generator share
its cores). Total ${meta.durationS} s.

Each run drives \`POST /events\` (limit: ${LIMIT.capacity} at once, ${LIMIT.perS}/s per key) on the
${meta.config.instances} instances in turn, over loopback HTTP with keep-alive, at most
${meta.config.concurrency} requests in flight:

- **accuracy**: one key, paced at ${meta.config.accuracyRate} requests/s (4× its limit) for
  ${meta.config.accuracyMs / 1000} s. Accuracy is allowed / (capacity + rate × elapsed), elapsed from the first
  request sent to the last reply (the upper bound: above 100% would be over-admission); in
  brackets, against the lower bound (elapsed from the first reply to the last request sent).
- **throughput**: ${THROUGHPUT_KEYS.toLocaleString('en')} keys in turn, nearly all allowed, as fast as the instances answer
  for ${meta.config.throughputMs / 1000} s: decisions per second on the allowed path.
- **hot-key**: one key hammered by every instance far over its limit for ${meta.config.hotMs / 1000} s.

Round trips per request are INFO commandstats deltas summed over every node (cluster: the three
masters), without INFO and without the commands the library's scripts run inside Redis
(${[...IN_SCRIPT].join(', ')}): the commands clients sent. ioredis may send several in one network write
(pipelining), so this is an upper bound on network round trips. Scripts are EVALSHA + EVAL.
The raw counts per command are in multi-instance.json.

| backend | mode | run | req/s | allowed / requests | accuracy | round trips/req | scripts/req | undecided |
| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.map((row) => `| ${row} |`).join('\n')}
`;
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
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
