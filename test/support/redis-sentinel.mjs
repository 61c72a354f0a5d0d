// Starts a throwaway Redis Sentinel setup on loopback: a master, one replica and one sentinel
// (quorum 1, short timeouts), so a test can kill the master and watch a real failover.
// Started lazily by the sentinel test file, never by globalSetup.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort, startRedisServer, waitForPing } from './redis-process.mjs';

const run = promisify(execFile);
const READY_TIMEOUT_MS = 15_000;

export const REDIS_SENTINEL_MISSING =
  'Neither redis-sentinel nor redis-server (with --sentinel) could run a sentinel. Install it ' +
  '(Debian/Ubuntu: `apt-get install redis-sentinel`, macOS: `brew install redis`); .ci/run does.';

/** The command that runs a sentinel here: Debian's redis-sentinel, else redis-server --sentinel. */
export function sentinelCommand() {
  for (const [command, extra] of [
    ['redis-sentinel', []],
    ['redis-server', ['--sentinel']],
  ]) {
    const probe = spawnSync(command, ['--version'], { stdio: 'ignore' });
    if (probe.error === undefined && probe.status === 0) return { command, extra };
  }
  throw new Error(REDIS_SENTINEL_MISSING);
}

/** Runs one redis-cli command against 127.0.0.1:port and resolves its output, trimmed. */
export async function redisCli(port, ...args) {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  return stdout.trim();
}

/**
 * Starts a master, a replica of it and a sentinel monitoring it as `name`, and waits until the
 * sentinel knows the replica (else a failover would have nothing to promote). Returns
 * { name, master, replica, sentinel, sentinels: [{ host, port }], masterPort(), stop() }.
 */
export async function startRedisSentinel({
  name = 'mymaster',
  downAfterMs = 1_000,
  failoverTimeoutMs = 3_000,
} = {}) {
  const { command, extra } = sentinelCommand();
  const started = [];
  try {
    // No diskless-sync delay (5 s by default): the replica syncs at once.
    const master = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
    started.push(master);
    const replica = await startRedisServer({
      args: ['--replicaof', '127.0.0.1', String(master.port)],
    });
    started.push(replica);
    await waitUntil(
      async () =>
        (await redisCli(replica.port, 'info', 'replication')).includes('master_link_status:up'),
      `replica on ${replica.port} did not sync with the master on ${master.port}`,
    );

    const sentinel = await startSentinel(command, extra, [
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
      `sentinel parallel-syncs ${name} 1`,
    ]);
    started.push(sentinel);
    await waitUntil(async () => {
      const fields = toFields(await redisCli(sentinel.port, 'sentinel', 'replicas', name));
      return (
        fields.get('port') === String(replica.port) &&
        fields.get('flags') === 'slave' &&
        fields.get('master-link-status') === 'ok'
      );
    }, `sentinel on ${sentinel.port} did not see the replica on ${replica.port} linked`);

    return {
      name,
      master,
      replica,
      sentinel,
      sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
      /** The master's port as the sentinel reports it now. */
      async masterPort() {
        const reply = await redisCli(sentinel.port, 'sentinel', 'get-master-addr-by-name', name);
        return Number(reply.split('\n')[1]);
      },
      async stop() {
        await Promise.all(started.map((process) => process.stop()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((process) => process.stop()));
    throw error;
  }
}

/** A sentinel needs a config file it can rewrite: one in its own temporary directory. */
async function startSentinel(command, extra, monitorLines) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nrrl-sentinel-'));
  const config = join(dir, 'sentinel.conf');
  writeFileSync(
    config,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode no',
      'daemonize no',
      `dir ${dir}`,
      `logfile ${join(dir, 'sentinel.log')}`,
      'sentinel announce-ip 127.0.0.1',
      'sentinel resolve-hostnames yes',
      ...monitorLines,
      '',
    ].join('\n'),
  );
  const child = spawn(command, [config, ...extra], { stdio: 'ignore', detached: false });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      waitForPing(port),
      exited.then((code) => {
        throw new Error(`${command} exited with code ${code} before answering on port ${port}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pid: child.pid, process: child, dir, exited, stop };
}

/** redis-cli prints a flat array of one instance as alternate field and value lines. */
function toFields(reply) {
  const lines = reply.split('\n');
  const fields = new Map();
  for (let i = 0; i + 1 < lines.length; i += 2) fields.set(lines[i], lines[i + 1]);
  return fields;
}

async function waitUntil(check, failure) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${failure} within ${READY_TIMEOUT_MS} ms`);
}
