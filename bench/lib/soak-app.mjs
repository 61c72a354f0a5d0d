// The sample app as a child process with SOAK_REPORT=1: it prints its memory (and the memory
// store's size) as one `soak-report {json}` line a second, read here from its stdout; with
// --expose-gc, so every SOAK_GC_EVERY-th line gives the heap that survives a full collection.
import { spawn } from 'node:child_process';
import { freePort } from '../../test/support/redis-process.mjs';
import { waitForHealth } from '../../test/support/sample-app-process.mjs';

const PREFIX = 'soak-report ';
/** Variables of the parent that would change the app (jest sets REDIS_URL and NODE_OPTIONS). */
const INHERITED_OUT = [
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'RATE_LIMIT_MODE',
  'RATE_LIMIT_TIMEOUT_MS',
  'RATE_LIMIT_MEMORY_MAX_KEYS',
  'SOAK_GC_EVERY',
  'TRUST_PROXY',
  'PORT',
  'NODE_OPTIONS',
];

/**
 * Starts the app at `entry` with `env` on a free loopback port; resolves once GET /health
 * answers. Returns { url, pid, latest(), reports, output(), stop() }: latest() is the last
 * report line, reports every one so far.
 */
export async function startSoakApp({ entry, env }) {
  const port = await freePort();
  const base = { ...process.env };
  for (const name of INHERITED_OUT) delete base[name];
  const child = spawn(process.execPath, ['--expose-gc', entry], {
    env: { ...base, ...env, SOAK_REPORT: '1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reports = [];
  let log = '';
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    for (const line of lines) {
      if (line.startsWith(PREFIX)) reports.push(JSON.parse(line.slice(PREFIX.length)));
      else log = (log + line + '\n').slice(-8_000);
    }
  });
  child.stderr.on('data', (chunk) => (log = (log + chunk.toString()).slice(-8_000)));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await Promise.race([
      waitForHealth(url),
      exited.then((code) => {
        throw new Error(`sample app exited (${code}) before answering:\n${log}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    pid: child.pid,
    reports,
    latest: () => reports.at(-1),
    output: () => log,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop,
  };
}
