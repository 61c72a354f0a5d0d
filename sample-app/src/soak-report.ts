import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import { RateLimitStore } from 'nest-redis-rate-limit';

/** Marks the report lines in stdout, among the app's log lines. */
export const SOAK_REPORT_PREFIX = 'soak-report ';

/**
 * For bench/soak.mjs (SOAK_REPORT=1): prints this process's memory, the memory store's bucket
 * count when it uses one, and the longest event-loop stall since the last line (a starved CPU
 * delays every timer, timeoutMs's too), as one JSON line a second. Off by default.
 */
export function startSoakReport(app: INestApplication): void {
  const store: unknown = app.get(RateLimitStore, { strict: false });
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const timer = setInterval(() => {
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    const size = (store as { size?: unknown }).size;
    const storeSize = typeof size === 'number' ? size : null;
    const loopDelayMaxMs = loopDelay.max / 1e6;
    loopDelay.reset();
    const report = { t: Date.now(), rss, heapUsed, heapTotal, external, storeSize, loopDelayMaxMs };
    process.stdout.write(`${SOAK_REPORT_PREFIX}${JSON.stringify(report)}\n`);
  }, 1000);
  timer.unref();
}
