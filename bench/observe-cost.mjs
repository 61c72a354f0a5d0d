// node bench/observe-cost.mjs (after npm run build): CPU per decision of the module's observer
// (metrics and events, lib/observe/decision-observer.ts) alone, in process, where the HTTP
// compare (bench:compare --pairs=metrics) is too coarse to see it: one decision counted and one
// store round trip recorded, with metrics: false, without a MeterProvider, and with an SDK
// MeterProvider whose periodic reader exports to memory every 10 s. Median of 5 x 500,000.
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';

const dist = process.env.BENCH_DIST ?? new URL('../dist/', import.meta.url).href;
const { DecisionObserver } = await import(new URL('observe/decision-observer.js', dist).href);

const limit = {
  name: 'default',
  allowed: true,
  limit: 10,
  remaining: 5,
  resetMs: 1000,
  retryAfterMs: 0,
};
const decision = { ...limit, limits: [limit], source: 'redis' };
const observation = {
  scope: 'BenchController.get',
  route: 'BenchController.get',
  limits: [{ limit: { scope: undefined } }],
  identities: ['ip:192.0.2.1'],
  decision,
};
const silent = { log() {}, warn() {} };
const meterProvider = () =>
  new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
        exportIntervalMillis: 10_000,
      }),
    ],
  });

async function measure(name, options) {
  const observer = new DecisionObserver(options, silent);
  await observer.start(undefined);
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      observer.observe(observation);
      if (observer.recording) observer.record(0.4, 'ok');
    }
  };
  run(200_000);
  const perDecisionUs = [];
  for (let rep = 0; rep < 5; rep++) {
    const before = process.cpuUsage();
    run(500_000);
    const { user, system } = process.cpuUsage(before);
    perDecisionUs.push((user + system) / 500_000);
  }
  perDecisionUs.sort((a, b) => a - b);
  const [min, , median, , max] = perDecisionUs.map((us) => us.toFixed(3));
  console.log(`${name.padEnd(40)} ${median} µs/decision (${min}–${max})`);
  observer.close();
}

await measure('metrics: false', { metrics: false, meterProvider: undefined });
await measure('metrics on, no MeterProvider registered', {
  metrics: true,
  meterProvider: undefined,
});
await measure('metrics on, SDK MeterProvider', { metrics: true, meterProvider: meterProvider() });
process.exit(0);
