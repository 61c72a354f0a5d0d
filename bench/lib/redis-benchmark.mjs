// redis-benchmark of one script's EVALSHA: Redis alone, no Node client in the way, so the Redis
// cost of the library's script and of the ceiling's can be compared at the same load.
import { spawnSync } from 'node:child_process';

export function redisBenchmark(port, sha, args, { requests, clients, pipeline, keys, prefix }) {
  const result = spawnSync(
    'redis-benchmark',
    [
      ...['-h', '127.0.0.1', '-p', String(port), '-n', String(requests), '-c', String(clients)],
      ...['-P', String(pipeline), '-r', String(keys), '--csv'],
      ...['EVALSHA', sha, '1', `${prefix}user:__rand_int__`, ...args.map(String)],
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (result.status !== 0) return undefined;
  const line = result.stdout.trim().split('\n').at(-1);
  const cells = line.split(',').map((cell) => cell.replaceAll('"', ''));
  return { perSecond: Number(cells[1]), p50Ms: Number(cells[4]), p99Ms: Number(cells[6]) };
}
