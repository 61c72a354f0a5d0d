// Starts a throwaway Redis Cluster on loopback: three masters, no replicas, no persistence.
// Started lazily by the cluster test files (beforeAll), never by globalSetup.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startRedisServer } from './redis-process.mjs';

const READY_TIMEOUT_MS = 15_000;

/**
 * Starts `masters * (1 + replicas)` redis-server processes with cluster mode on, joins them with
 * `redis-cli --cluster create` (which gives each master `replicas` replicas), and waits until
 * every node reports cluster_state:ok. Returns { nodes: [{ host, port }], servers, stop() }.
 */
export async function startRedisCluster({ masters = 3, replicas = 0 } = {}) {
  const servers = [];
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freeClusterPort();
      servers.push(
        await startRedisServer({
          port,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      );
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: READY_TIMEOUT_MS },
    );
    if (create.status !== 0) {
      throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
    }
    await waitForClusterOk(servers.map((server) => server.port));
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
  return {
    nodes: servers.map((server) => ({ host: '127.0.0.1', port: server.port })),
    servers,
    async stop() {
      await Promise.all(servers.map((server) => server.stop()));
    },
  };
}

/** Runs one redis-cli command against a node and returns its output. */
export function clusterCli(port, ...args) {
  const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** A free port whose cluster bus port (port + 10000) is free and valid too. */
async function freeClusterPort() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && (await isFree(port + 10_000))) return port;
  }
  throw new Error('found no free port pair (port, port + 10000) for a cluster node');
}

function isFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function waitForClusterOk(ports) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const states = ports.map((port) => clusterCli(port, 'cluster', 'info'));
    const links = ports.map((port) => clusterCli(port, 'info', 'replication'));
    if (
      states.every((info) => info.includes('cluster_state:ok')) &&
      links.every((info) => info.includes('role:master') || info.includes('master_link_status:up'))
    ) {
      return;
    }
    await sleep(100);
  }
  throw new Error(`cluster on ports ${ports.join(', ')} not ok within ${READY_TIMEOUT_MS} ms`);
}
