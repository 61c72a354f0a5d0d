// The configurations bench/compare.mjs measures. A variant is a named way to set up the library,
// applied the same way by both measures (consume() in the bench process, the HTTP guard in a
// server process, which finds it here by id):
//   options   module options added to RateLimitModule.forRoot: an object, or lib => object when
//             they need the library's own exports (a store class, say);
//   limits    base => what is limited: consume()'s limits and the route's @RateLimit argument,
//             derived from the measure's base limit (one object; return one limit or an array);
//   routeLimits  base => the route's @RateLimit argument when it differs from `limits` (a limit
//             resolved per request, say).
// Code rather than JSON, so a variant can hold functions; loaded by id in every process.
//
// With --baseline, each chosen variant (default: `default`) runs on both builds and the row is
// current/baseline. Without it, each PAIR runs its two variants on the current build: B/A.
// To add a row such as "metrics on vs off": a variant with the options, and a pair naming it.

import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';

/**
 * A MeterProvider as an app registers one: a periodic reader (every 10 s) exporting to memory,
 * so the measure includes recording and the periodic collection, not an exporter's network I/O.
 */
const meterProvider = () =>
  new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
        exportIntervalMillis: 10_000,
      }),
    ],
  });

export const VARIANTS = [
  { id: 'default', name: 'default module options, one limit' },
  {
    id: 'two-limits',
    name: 'two limits on one key (burst + hourly)',
    limits: (base) => [
      { ...base, name: 'burst' },
      { ...base, name: 'hourly' },
    ],
  },
  {
    id: 'metrics-on',
    name: 'metrics on (a MeterProvider with a periodic reader)',
    options: () => ({ meterProvider: meterProvider() }),
  },
  { id: 'metrics-off', name: 'metrics: false', options: { metrics: false } },
  {
    id: 'per-request',
    name: 'capacity from a function of the request (same value), refill static',
    // The route's limit only: consume() has no request and keeps the static limit, so this
    // pair's consume() row measures nothing and its HTTP row is the one to read.
    routeLimits: (base) => ({ ...base, capacity: () => base.capacity }),
  },
  // Windows of the base capacity per hour (mostly-allowed, as the base bucket): no refill.
  {
    id: 'fixed-window',
    name: 'one fixed window',
    limits: (base) => windowOf(base, 'fixed-window'),
  },
  {
    id: 'sliding-window',
    name: 'one sliding window',
    limits: (base) => windowOf(base, 'sliding-window'),
  },
  {
    id: 'three-algorithms',
    name: 'three limits on one key: token bucket + fixed window + sliding window',
    limits: (base) => [
      { ...base, name: 'burst' },
      { ...windowOf(base, 'fixed-window'), name: 'hourly' },
      { ...windowOf(base, 'sliding-window'), name: 'smooth' },
    ],
  },
  {
    id: 'blocks-always',
    name: "blocks: 'always' (every decision reads its identity's block key; no block set)",
    options: { blocks: 'always' },
  },
  {
    id: 'deny-list',
    name: 'a denyList of 100 IPv4 ranges, 20 IPv6 ranges and 100 identities, none matching',
    // The guard's only: consume() has no request, so this pair's consume() row measures nothing.
    options: { denyList: denyListEntries() },
  },
];

/** Entries for the deny-list variant, in four prefix lengths and as identities. */
function denyListEntries() {
  const entries = [];
  for (let i = 0; i < 50; i++) entries.push(`10.${i}.0.0/16`, `172.16.${i}.0/24`);
  for (let i = 0; i < 20; i++) entries.push(`2001:db8:${i.toString(16)}::/48`);
  for (let i = 0; i < 100; i++) entries.push(`user:${i}`);
  return entries;
}

/** The base limit as a window of its capacity per hour. */
function windowOf(base, algorithm) {
  const { refill: _refill, ...rest } = base;
  return { ...rest, algorithm, windowMs: 3_600_000 };
}

/** Rows measured on the current build only (no --baseline): `b` against `a`. */
export const PAIRS = [
  { id: 'two-limits', name: 'two limits vs one', a: 'default', b: 'two-limits' },
  {
    id: 'metrics',
    name: 'metrics on (MeterProvider) vs off (none registered)',
    a: 'default',
    b: 'metrics-on',
  },
  { id: 'metrics-off', name: 'metrics: false vs none registered', a: 'default', b: 'metrics-off' },
  { id: 'per-request', name: 'per-request limit vs static', a: 'default', b: 'per-request' },
  { id: 'fixed-window', name: 'fixed window vs token bucket', a: 'default', b: 'fixed-window' },
  {
    id: 'sliding-window',
    name: 'sliding window vs token bucket',
    a: 'default',
    b: 'sliding-window',
  },
  {
    id: 'three-algorithms',
    name: 'token bucket + fixed + sliding window vs two token buckets',
    a: 'two-limits',
    b: 'three-algorithms',
  },
  {
    id: 'block-check',
    name: "a block check on every decision (blocks: 'always', or while a block exists) vs none",
    a: 'default',
    b: 'blocks-always',
  },
  { id: 'deny-list', name: 'a 220-entry denyList vs none', a: 'default', b: 'deny-list' },
];

export function compareVariant(id) {
  const variant = VARIANTS.find((v) => v.id === id);
  if (!variant)
    throw new Error(`unknown variant ${id}; one of ${VARIANTS.map((v) => v.id).join(', ')}`);
  return variant;
}

export function comparePair(id) {
  const pair = PAIRS.find((p) => p.id === id);
  if (!pair) throw new Error(`unknown pair ${id}; one of ${PAIRS.map((p) => p.id).join(', ')}`);
  return pair;
}

/** Module options a variant adds (none without a variant). */
export const variantOptions = (variant, lib) =>
  typeof variant?.options === 'function' ? variant.options(lib) : (variant?.options ?? {});

/** What consume() is given: `base` unless the variant derives its own limits. */
export const variantLimits = (variant, base) => (variant?.limits ? variant.limits(base) : base);

/** The route's @RateLimit argument: `routeLimits`, else `limits`, else `base`. */
export const variantRouteLimits = (variant, base) =>
  variant?.routeLimits ? variant.routeLimits(base) : variantLimits(variant, base);
