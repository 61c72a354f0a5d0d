// A bounded closed-loop load: `concurrency` workers share `calls` decisions over `keys` identities.
import process from 'node:process';
import { performance } from 'node:perf_hooks';

export async function runLoad(decide, { calls, concurrency, keys, prefix = '', record = true }) {
  const latencies = record ? new Float64Array(calls) : undefined;
  let next = 0;
  let allowed = 0;
  async function worker() {
    while (next < calls) {
      const i = next++;
      const key = `${prefix}user:${i % keys}`;
      const start = performance.now();
      if (await decide(key)) allowed++;
      if (latencies) latencies[i] = performance.now() - start;
    }
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (!latencies) return undefined;
  latencies.sort();
  return {
    calls,
    allowedShare: allowed / calls,
    perSecond: (calls * 1000) / wallMs,
    p50Ms: latencies[Math.floor(calls * 0.5)],
    p99Ms: latencies[Math.min(calls - 1, Math.floor(calls * 0.99))],
    nodeCpuUs: (cpu.user + cpu.system) / calls,
  };
}
