// The HTTP benchmark: every variant of bench/http/variants.mjs in its own server process, all
// started once and kept running; each repetition runs every variant (order rotated) for a warm-up
// then a measured window of autocannon. Per window: req/s, p50/p99, the server's own CPU per
// request, Redis commands per request and, where perf counts them, instructions per request.
import { setTimeout as sleep } from 'node:timers/promises';
import { perDecision, redisCounters } from '../lib/redis-stats.mjs';
import { runAutocannon } from './load.mjs';
import { perfCount, perfSupport } from './perf.mjs';
import { startServer } from './server-process.mjs';
import { CLIENT_IDS, VARIANTS } from './variants.mjs';

// Requests in flight when autocannon stops finish within this before counters are read.
const SETTLE_MS = 50;

export const HTTP_CONFIG = {
  quick: { reps: 2, connections: 50, firstWarmup: 3_000, warmupS: 0.25, seconds: 1 },
  full: { reps: 5, connections: 50, firstWarmup: 10_000, warmupS: 1, seconds: 10 },
};

/**
 * One measured window of one server: a `config.warmupS` warm-up, then `config.seconds` of
 * autocannon. Returns the load's figures plus the server's CPU µs, Redis round trips and commands
 * (and instructions, when `perf` counts them) per request it received.
 */
export async function measureWindow(server, config, admin, perf = { available: false }) {
  await runAutocannon({ ...server, ...config, seconds: config.warmupS, record: false });
  await sleep(SETTLE_MS);
  const redisBefore = await redisCounters(admin);
  const cpuBefore = await server.cpu();
  const counter = perf.available ? perfCount(server.pid) : undefined;
  const result = await runAutocannon({ ...server, ...config });
  await sleep(SETTLE_MS);
  const instructions = await counter?.stop();
  const cpuAfter = await server.cpu();
  const redisAfter = await redisCounters(admin);
  const served = cpuAfter.served - cpuBefore.served;
  const cpuUs = cpuAfter.cpu.user + cpuAfter.cpu.system - cpuBefore.cpu.user - cpuBefore.cpu.system;
  const { roundTrips, commands } = perDecision(redisBefore, redisAfter, served);
  return {
    ...result,
    served,
    serverCpuUs: cpuUs / served,
    instructions: instructions === undefined ? undefined : instructions / served,
    roundTrips,
    commands,
  };
}

export async function runHttpBench({ redisUrl, admin, quick, reps, log }) {
  const config = { ...HTTP_CONFIG[quick ? 'quick' : 'full'], clientIds: CLIENT_IDS };
  if (reps) config.reps = reps;
  const perf = perfSupport();
  const servers = [];
  try {
    const started = await Promise.allSettled(VARIANTS.map((v) => startServer(v, redisUrl)));
    for (const outcome of started) if (outcome.status === 'fulfilled') servers.push(outcome.value);
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const t0 = Date.now();
    log(`http: ${servers.length} servers up\n`);
    // JIT warm-up is a matter of calls, not time (Express takes ~5,000 requests to settle here),
    // so the servers are warmed all at once.
    await Promise.all(
      servers.map((server) =>
        runAutocannon({ ...server, ...config, amount: config.firstWarmup, record: false }),
      ),
    );
    log(`http: warmed in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const runs = [];
    for (let rep = 0; rep < config.reps; rep++) {
      // Rotate the order each repetition so no variant always runs first or last.
      const ordered = servers.map((_, i) => servers[(i + rep) % servers.length]);
      for (const server of ordered) {
        runs.push({
          rep,
          variant: server.variant.id,
          ...(await measureWindow(server, config, admin, perf)),
        });
      }
      log(`http rep ${rep + 1}/${config.reps} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    }
    return {
      config,
      perf: perf.note,
      variants: VARIANTS.map(({ id, name, adapter, peer }) => ({ id, name, adapter, peer })),
      runs,
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}
