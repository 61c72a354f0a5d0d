// Event-loop stalls: when a process could not run (a starved CPU, a GC), every timer fires late,
// timeoutMs's included. A 10 ms probe records each stall as an interval, so a wait can be judged
// less the time the processes serving it were stalled.

export const PROBE_MS = 10;
/** Lateness below this is timer jitter, not a stall; it is left in the wait. */
export const MIN_STALL_MS = 5;

/** Starts the probe on `clock` (ms); stalls() drains the intervals [from, to] seen so far. */
export function watchStalls(clock) {
  let last = clock();
  let pending = [];
  const timer = setInterval(() => {
    const now = clock();
    const late = now - last - PROBE_MS;
    if (late >= MIN_STALL_MS) pending.push([now - late, now]);
    last = now;
  }, PROBE_MS);
  timer.unref();
  return {
    drain() {
      const drained = pending;
      pending = [];
      return drained;
    },
    stop: () => clearInterval(timer),
  };
}

/** The intervals merged into disjoint ones, sorted. */
export function union(intervals) {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const [from, to] of sorted) {
    const lastMerged = merged.at(-1);
    if (lastMerged !== undefined && from <= lastMerged[1]) {
      lastMerged[1] = Math.max(lastMerged[1], to);
    } else merged.push([from, to]);
  }
  return merged;
}

/** Time of [fromMs, toMs] covered by the disjoint sorted intervals. */
export function covered(merged, fromMs, toMs) {
  let total = 0;
  for (const [from, to] of merged) {
    if (from >= toMs) break;
    if (to <= fromMs) continue;
    total += Math.min(to, toMs) - Math.max(from, fromMs);
  }
  return total;
}
