// bench/results/soak.md: the soak's section for RESULTS.md to link.

const mb = (bytes) => (bytes === null ? '' : (bytes / 1_048_576).toFixed(1));

export function renderSoakMarkdown(result) {
  const { config, summary } = result;
  const lines = [
    '## Soak',
    '',
    `Run ${result.date} on Node ${result.node}: \`node bench/soak.mjs --duration ${config.durationS}\`` +
      ` (\`npm run soak\`). ${result.passed ? 'Every check passed.' : '**A check failed.**'}`,
    '',
    `The sample app (one process) on its own redis-server for ${config.redisPhaseMs / 1000} s, ` +
      `at ${config.rate} requests/s (at most ${config.concurrency} in flight) alternating ` +
      `GET /search (by client IP, from X-Forwarded-For behind TRUST_PROXY=loopback) and ` +
      `POST /events (by x-api-key), over ${config.identities} cold identities and ` +
      `${config.hotIdentities} hot ones (${Math.round(config.hotShare * 100)}% of requests). ` +
      `Redis paused with SIGSTOP ${result.pauses.length} times ` +
      `(${result.pauses.map((p) => `${(p.fromMs / 1000).toFixed(1)}–${(p.toMs / 1000).toFixed(1)} s`).join(', ')}), ` +
      `then resumed with SIGCONT; timeoutMs ${config.timeoutMs}, failure strategy open. ` +
      `Then ${config.memoryPhaseMs / 1000} s on the memory store with ` +
      `memoryStoreMaxKeys ${config.memoryMaxKeys}, same load.`,
    '',
    '| Check | Measured | Bound | Pass |',
    '| --- | --- | --- | --- |',
    ...result.checks.map(
      (c) => `| ${c.name} | ${c.measured} | ${c.bound} | ${c.pass ? 'yes' : '**no**'} |`,
    ),
    '',
    `Redis phase: ${summary.redisPhase.sent} requests, statuses ` +
      `${formatCounts(summary.redisPhase.statuses)}${errorsOf(summary.redisPhase)}; ${summary.redisPhase.decisionsPerSecond} ` +
      `decisions/s on average; longest wait overlapping a pause ` +
      `${summary.redisPhase.pauseMaxLatencyMs} ms, ${summary.redisPhase.pauseMaxLatencyLessStallsMs} ms ` +
      `less event-loop stalls (stalls over the phase: app ${describe(summary.redisPhase.appStalls)}, ` +
      `load generator ${describe(summary.redisPhase.ownStalls)}; outside the pauses: p50 ` +
      `${summary.redisPhase.steadyLatencyMs.p50} ms, p99 ${summary.redisPhase.steadyLatencyMs.p99} ms, ` +
      `max ${summary.redisPhase.steadyLatencyMs.max} ms); Redis used_memory at most ` +
      `${mb(summary.redisPhase.redisUsedMemoryMax)} MB. Memory phase: ` +
      `${summary.memoryPhase.sent} requests, statuses ${formatCounts(summary.memoryPhase.statuses)}${errorsOf(summary.memoryPhase)}.`,
    '',
    'Every fifth second, every second with a forced GC, and every second Redis was paused ' +
      '(heap and RSS: the app process; heap after GC: what a forced full collection left):',
    '',
    '| s | Redis paused | heap MB | heap after GC MB | RSS MB | Redis used_memory MB | decisions/s | max latency ms |',
    '| --: | --- | --: | --: | --: | --: | --: | --: |',
    ...result.timeline
      .filter((row, i) => i % 5 === 4 || row.paused || row.heapAfterGc !== null)
      .map(
        (row) =>
          `| ${row.second} | ${row.paused ? 'yes' : ''} | ${mb(row.heapUsed)} | ` +
          `${mb(row.heapAfterGc)} | ${mb(row.rss)} | ` +
          `${mb(row.redisUsedMemory)} | ${row.decisions} | ${row.maxLatencyMs} |`,
      ),
    '',
    'A wait overlapping a pause is judged less the time during it when the app or the load ' +
      'generator was stalled (a 10 ms probe timer firing 5 ms late or more, in each process): on ' +
      'a starved CPU every timer fires late, timeoutMs included, while a wait tied to Redis lasts ' +
      'the pause however idle the loops are.',
    '',
    'Memory is compared between the middle and the last third of the Redis phase (the first ' +
      'third is warm-up: JIT, pools, the deny cache filling), as means: for the heap, of what a ' +
      `full GC left (the app, started with --expose-gc, collects every ${config.gcEveryS} s), ` +
      'since heap used ' +
      'saws between collections; for RSS, of every sample. A leak of 1 KB a request at ' +
      `${config.rate} requests/s retains about ` +
      `${((config.rate * 1024 * config.redisPhaseMs) / 3 / 1000 / 1_048_576).toFixed(1)} MB more ` +
      'from one third to the next.',
    '',
  ];
  return lines.join('\n');
}

function describe(stalls) {
  return `${stalls.count}, longest ${stalls.longestMs} ms, ${stalls.totalMs} ms in all`;
}

/** Transport errors (status 0) by code, when there were any. */
function errorsOf(phase) {
  const codes = formatCounts(phase.transportErrors ?? {});
  return codes === '' ? '' : ` (status 0 by error: ${codes})`;
}

function formatCounts(counts) {
  return Object.entries(counts)
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ');
}
