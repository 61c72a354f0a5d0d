// npm run bench:layers [-- --rounds=7 --calls=20000]: where the Node CPU of one fixed-window
// decision goes at concurrency 1, one layer at a time, against the fixed-window ceiling, on one
// redis-server of its own (10,000 identities, mostly allowed). Each level adds one layer to the
// one before it:
//   ceiling        bench/lib/ceiling-fixed-window.lua through ioredis (INCR, PEXPIRE on the first hit)
//   ceiling-wire   the same work behind the library's arguments and reply (bench/lib/ceiling-wire.lua)
//   js-on-wire     that script called by the library's JavaScript (runBucketScripts: its arguments,
//                  the reply's checks, the result objects)
//   script         the library's own bucket script, so called: no layer yet
//   store          RedisRateLimitStore.take: the turn's batch (setImmediate) and the deadline
//   engine         RateLimitEngine.decide: the decision pipeline (blocks, failure strategy,
//                  breaker, deny cache, store timing) and the decision object
//   service        RateLimitService.consume: the limit's plan and the identity's key
// Levels run interleaved, `rounds` times; the table gives medians and each level's Node CPU over
// the ceiling's in the same round (median, spread).
import process from 'node:process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/support/redis-process.mjs';
import { distFile, loadLibrary } from './lib/library.mjs';
import { runLoad } from './lib/load.mjs';
import { median, spread } from './lib/stats.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    calls: { type: 'string', default: '20000' },
  },
});
const ROUNDS = Number(values.rounds);
const CALLS = Number(values.calls);
const IDENTITIES = 10_000;
const LIMIT = { algorithm: 'fixed-window', capacity: 1_000_000, windowMs: 1_000_000_000 };

const lua = (name) => readFileSync(new URL(`./lib/${name}`, import.meta.url), 'utf8');

const server = await startRedisServer();
const clients = [];
async function client() {
  const redis = new Redis(server.url, { lazyConnect: true });
  await redis.connect();
  clients.push(redis);
  return redis;
}

try {
  const { RateLimitModule, RateLimitService } = await loadLibrary();
  const { RateLimitEngine } = await import(distFile('rate-limit.engine.js').href);
  const { defineBucketScript, runBucketScripts } = await import(
    distFile('algorithms/bucket-script.js').href
  );
  class LayersModule {}
  Module({
    imports: [
      RateLimitModule.forRoot({
        redis: { host: '127.0.0.1', port: server.port },
        keyPrefix: 'l:',
        global: false,
      }),
    ],
  })(LayersModule);
  const app = await NestFactory.createApplicationContext(LayersModule, { logger: false });
  await app.init();
  const service = app.get(RateLimitService);
  const engine = app.get(RateLimitEngine);

  // The engine's question for one identity, as the service asks it: caught once, then asked for
  // each identity with that identity's keys.
  let asked;
  const decide = engine.decide.bind(engine);
  engine.decide = (names, query) => {
    asked ??= { names, query };
    return decide(names, query);
  };
  await service.consume('user:0', LIMIT);
  engine.decide = decide;
  const queryFor = (identity) => ({
    ...asked.query,
    requests: asked.query.requests.map((r) => ({ ...r, key: r.key.replace('user:0', identity) })),
  });
  const scriptCall = (identity) => {
    const { requests, mode, blockPrefix } = queryFor(identity);
    return { requests, mode, blockPrefix };
  };

  const ceiling = await client();
  ceiling.defineCommand('layersCeiling', { numberOfKeys: 1, lua: lua('ceiling-fixed-window.lua') });
  const wire = await client();
  wire.defineCommand('layersWire', { numberOfKeys: 1, lua: lua('ceiling-wire.lua') });
  const scriptClient = await client();
  // The library's command on a client of the bench's own, as the store defines it on its client.
  defineBucketScript(scriptClient);
  // The library's command name on this client runs the wire ceiling instead of the bucket script.
  const jsOnWire = await client();
  jsOnWire.defineCommand('nrrlBuckets', { lua: lua('ceiling-wire.lua') });
  const rule = asked.query.requests[0].rule;
  const windowUs = rule.algorithm.scriptParam(rule);

  const LEVELS = {
    ceiling: (id) => ceiling.layersCeiling(`c:${id}`, LIMIT.capacity, LIMIT.windowMs),
    'ceiling-wire': (id) =>
      wire.layersWire(`w:${id}`, 1, 1, 5, 1, rule.algorithm.code, LIMIT.capacity, windowUs, 1),
    'js-on-wire': (id) => runBucketScripts(jsOnWire, [scriptCall(id)]),
    script: (id) => runBucketScripts(scriptClient, [scriptCall(id)]),
    store: (id) => engine.store.take(queryFor(id)),
    engine: (id) => engine.decide(asked.names, queryFor(id)),
    service: (id) => service.consume(id, LIMIT),
  };
  // The bench's own closed loop (bench/lib/load.mjs), one decision at a time.
  const run = (level, calls, record = true) =>
    runLoad(level, { calls, concurrency: 1, keys: IDENTITIES, record });

  for (const level of Object.values(LEVELS)) await run(level, Math.min(CALLS, 5_000), false);
  const samples = Object.fromEntries(Object.keys(LEVELS).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order, so no level always runs first (or right after the same one).
    const names = Object.keys(LEVELS);
    const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)];
    for (const name of order) samples[name].push(await run(LEVELS[name], CALLS));
  }

  const lines = [
    `C=1, ${CALLS.toLocaleString('en')} decisions per level and round, ${ROUNDS} rounds, ${IDENTITIES.toLocaleString('en')} identities, fixed window mostly allowed`,
    '',
    '| level | decisions/s | Node CPU µs | × ceiling (spread) | added by this level, µs |',
    '|---|---:|---:|---|---:|',
  ];
  let previous;
  for (const name of Object.keys(LEVELS)) {
    const rows = samples[name];
    const cpu = median(rows.map((r) => r.nodeCpuUs));
    const ratios = rows.map((r, i) => r.nodeCpuUs / samples.ceiling[i].nodeCpuUs);
    const added = previous === undefined ? '' : (cpu - previous).toFixed(1);
    lines.push(
      `| ${name} | ${Math.round(median(rows.map((r) => r.perSecond))).toLocaleString('en')} | ${cpu.toFixed(1)} | ${median(ratios).toFixed(2)} (${spread(ratios).toFixed(2)}) | ${added} |`,
    );
    previous = cpu;
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  await app.close();
} finally {
  await Promise.all(clients.map((c) => c.quit()));
  await server.stop();
}
