// Optional hardware counter: instructions retired by a server process over the measured window,
// from `perf stat -p`. A count of work that, unlike CPU time, barely moves with machine load.
import { spawn, spawnSync } from 'node:child_process';

/** { available, note }: whether `perf stat -e <event>` counts on this machine, and why not. */
export function perfSupport(event = 'instructions') {
  const version = spawnSync('perf', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0)
    return { available: false, note: 'perf not installed' };
  const probe = spawnSync('perf', ['stat', '-x', ',', '-e', event, '--', 'true'], {
    encoding: 'utf8',
  });
  const value = parseCount(probe.stderr, event);
  return value === undefined
    ? {
        available: false,
        note: `${version.stdout.trim()} is installed but reports the ${event} counter as not supported (no hardware performance counters exposed to this machine)`,
      }
    : {
        available: true,
        note: `${version.stdout.trim()}, \`perf stat -e ${event} -p <server pid>\``,
      };
}

/** Starts counting `event` in process `pid`; stop() resolves to the count (undefined if none). */
export function perfCount(pid, event = 'instructions') {
  const child = spawn('perf', ['stat', '-x', ',', '-e', event, '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return {
    stop: () =>
      new Promise((resolve) => {
        child.once('close', () => resolve(parseCount(stderr, event)));
        child.kill('SIGINT');
      }),
  };
}

// CSV output (-x ,): "<count>,<unit>,<event>,..."; "<not supported>" or "<not counted>" otherwise.
function parseCount(stderr, event) {
  const line = stderr.split('\n').find((row) => row.split(',')[2]?.startsWith(event));
  const count = line === undefined ? NaN : Number(line.split(',')[0]);
  return Number.isFinite(count) ? count : undefined;
}
