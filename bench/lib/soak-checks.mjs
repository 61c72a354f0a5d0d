// The soak's verdicts and its per-second timeline, from the samples and the request records.

/**
 * Heap: the mean heap left by a full GC (forced every few seconds) over the last third at most this much
 * above the middle third's; the first third is warm-up. After a full GC, not as sampled: heap
 * used saws between GCs (25 to 80 MB in 10 s at 400 requests/s), which drowns a leak.
 */
export const HEAP_GROWTH_BOUND = 0.1;
/** RSS: last-third mean against the middle third's; RSS barely follows the sawtooth. */
export const RSS_GROWTH_BOUND = 0.15;
/** Memory store: the fill that shows eviction was exercised, as a share of memoryStoreMaxKeys. */
export const STORE_FILL_SHARE = 0.9;

const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** A field's mean over the middle third of the phase and over its last. */
export function growth(samples, field, phaseMs) {
  const middle = samples.filter((s) => s.tMs >= phaseMs / 3 && s.tMs < (2 * phaseMs) / 3);
  const last = samples.filter((s) => s.tMs >= (2 * phaseMs) / 3);
  const values = (list) => list.map((s) => s[field]).filter((v) => typeof v === 'number');
  if (values(middle).length === 0 || values(last).length === 0) return undefined;
  return { middle: mean(values(middle)), last: mean(values(last)) };
}

/** Requests whose wait overlapped [from, to] (ms on the run's clock). */
export function overlapping(requests, from, to) {
  const picked = [];
  for (let i = 0; i < requests.sent; i++) {
    const sent = requests.sentMs[i];
    const latency = requests.latencyMs[i];
    if (Number.isNaN(latency)) continue;
    if (sent <= to && sent + latency >= from) picked.push(i);
  }
  return picked;
}

/** Per whole second of the phase: answers (by reply time), decisions, max latency. */
export function perSecond(requests, fromMs, toMs) {
  const seconds = Math.ceil((toMs - fromMs) / 1000);
  const rows = Array.from({ length: seconds }, () => ({ answers: 0, decisions: 0, maxMs: 0 }));
  for (let i = 0; i < requests.sent; i++) {
    const latency = requests.latencyMs[i];
    if (Number.isNaN(latency)) continue;
    const second = Math.floor((requests.sentMs[i] + latency - fromMs) / 1000);
    const row = rows[Math.min(Math.max(second, 0), seconds - 1)];
    row.answers++;
    if (requests.decided[i] === 1) row.decisions++;
    row.maxMs = Math.max(row.maxMs, latency);
  }
  return rows;
}

/** Counts of statuses; 0 stands for a transport error or a client timeout. */
export function statusCounts(requests) {
  const counts = {};
  for (let i = 0; i < requests.sent; i++) {
    const key = Number.isNaN(requests.latencyMs[i]) ? 'unanswered' : String(requests.status[i]);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Answers that are neither a 2xx nor a 429: 5xx, transport errors, timeouts, unanswered. */
export function failures(counts) {
  return Object.entries(counts)
    .filter(([status]) => !/^2\d\d$/.test(status) && status !== '429')
    .reduce((sum, [, count]) => sum + count, 0);
}

export function check(name, measured, bound, pass, note = '') {
  return { name, measured, bound, pass, note };
}
