import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import { RateLimitStore } from 'nest-redis-rate-limit';

/** Marks the report lines in stdout, among the app's log lines. */
export const SOAK_REPORT_PREFIX = 'soak-report ';

/**
 * For bench/soak.mjs (SOAK_REPORT=1): prints this process's memory, the memory store's bucket
 * count when it uses one, and the longest event-loop stall since the last line (a starved CPU
 * delays every timer, timeoutMs's too), as one JSON line a second. Off by default.
 * Started with --expose-gc, every SOAK_GC_EVERY-th line (default 5) also collects garbage first
 * and gives the heap that survives (heapAfterGc): heap used saws too much to show a leak.
 */
export function startSoakReport(app: INestApplication): void {
  const store: unknown = app.get(RateLimitStore, { strict: false });
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
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
    const loopDelayMaxMs = loopDelay.max / 1e6;
    loopDelay.reset();
    const report = {
      t: Date.now(),
      rss,
      heapUsed,
      heapTotal,
      external,
      heapAfterGc,
      storeSize,
      loopDelayMaxMs,
    };
    process.stdout.write(`${SOAK_REPORT_PREFIX}${JSON.stringify(report)}\n`);
  }, 1000);
  timer.unref();
}
