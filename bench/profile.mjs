// node --cpu-prof --cpu-prof-dir=bench/.tmp bench/profile.mjs [system-id]: one system alone at
// C=64 over 10,000 keys (mostly-allowed), for a CPU profile of its Node hot path.
import process from 'node:process';
import { startRedisServer } from '../test/support/redis-process.mjs';
import { runLoad } from './lib/load.mjs';
import { SYSTEMS } from './lib/systems.mjs';

const id = process.argv[2] ?? 'library';
const system = SYSTEMS.find((s) => s.id === id);
if (!system) throw new Error(`unknown system ${id}; one of ${SYSTEMS.map((s) => s.id).join(', ')}`);
const server = await startRedisServer();
try {
  const instance = await system.setup(
    `redis://127.0.0.1:${server.port}`,
    { capacity: 1_000_000, perMs: 1_000 },
    'p:',
  );
  const load = { concurrency: 64, keys: 10_000 };
  await runLoad(instance.decide, { ...load, calls: 20_000, record: false });
  const result = await runLoad(instance.decide, { ...load, calls: 100_000 });
  process.stdout.write(
    `${id}: ${Math.round(result.perSecond)}/s, Node CPU ${result.nodeCpuUs.toFixed(1)} µs/decision\n`,
  );
  await instance.close();
} finally {
  await server.stop();
}
