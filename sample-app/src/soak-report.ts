import { performance } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import { RateLimitStore } from 'nest-redis-rate-limit';

/** Marks the report lines in stdout, among the app's log lines. */
export const SOAK_REPORT_PREFIX = 'soak-report ';
/** A probe timer every 10 ms: firing 5 ms late or more is an event-loop stall, not jitter. */
const PROBE_MS = 10;
const MIN_STALL_MS = 5;

/** Wall-clock milliseconds, sub-millisecond, comparable across processes. */
const wallMs = (): number => performance.timeOrigin + performance.now();

/**
 * For bench/soak.mjs (SOAK_REPORT=1): prints this process's memory, the memory store's bucket
 * count when it uses one, and the event-loop stalls since the last line as [from, to] wall-clock
 * intervals (a starved CPU delays every timer, timeoutMs's too), one JSON line a second. Started
 * with --expose-gc, every SOAK_GC_EVERY-th line (default 5) also collects garbage first and
 * gives the heap that survives (heapAfterGc): heap used saws too much to show a leak.
 * Off by default.
 */
export function startSoakReport(app: INestApplication): void {
  const store: unknown = app.get(RateLimitStore, { strict: false });
  let stalls: [number, number][] = [];
  let last = wallMs();
  const probe = setInterval(() => {
    const now = wallMs();
    const late = now - last - PROBE_MS;
    if (late >= MIN_STALL_MS) stalls.push([now - late, now]);
    last = now;
  }, PROBE_MS);
  probe.unref();

  const gc = (globalThis as { gc?: () => void }).gc;
  const gcEvery = Number(process.env.SOAK_GC_EVERY ?? 5);
  let count = 0;
  const timer = setInterval(() => {
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    let heapAfterGc: number | null = null;
    if (gc !== undefined && ++count % gcEvery === 0) {
      gc();
      heapAfterGc = process.memoryUsage().heapUsed;
    }
    const size = (store as { size?: unknown }).size;
    const storeSize = typeof size === 'number' ? size : null;
    const report = {
      t: wallMs(),
      rss,
      heapUsed,
      heapTotal,
      external,
      heapAfterGc,
      storeSize,
      stalls,
    };
    stalls = [];
    process.stdout.write(`${SOAK_REPORT_PREFIX}${JSON.stringify(report)}\n`);
  }, 1000);
  timer.unref();
}
