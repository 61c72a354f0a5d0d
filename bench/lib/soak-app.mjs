// The sample app as a child process with SOAK_REPORT=1: it prints its memory (and the memory
// store's size) as one `soak-report {json}` line a second, read here from its stdout; with
// --expose-gc, so every SOAK_GC_EVERY-th line gives the heap that survives a full collection.
import { startSampleApp } from '../../test/support/sample-app-process.mjs';

const PREFIX = 'soak-report ';

/**
 * Starts the app at `entry` with `env` on a free loopback port; resolves once GET /health
 * answers. Returns the sample-app process ({ url, pid, output(), exited(), stop() }) with
 * latest(), the last report line, and reports, every one so far.
 */
export async function startSoakApp({ entry, env }) {
  const reports = [];
  const app = await startSampleApp({
    entry,
    env: { ...env, SOAK_REPORT: '1' },
    nodeArgs: ['--expose-gc'],
    onLine: (line) => {
      if (!line.startsWith(PREFIX)) return false;
      reports.push(JSON.parse(line.slice(PREFIX.length)));
      return true;
    },
  });
  return { ...app, reports, latest: () => reports.at(-1) };
}
