// npm run bench:key-bytes [-- --identities=100000]: the fixed window's Redis bytes per identity
// beside its peers', and how much of the difference is the key. The library's key is
// `<keyPrefix><scope>:<name>:{<identity>}` (keys/bucket-key.ts): `consume()` without a scope or
// a name writes `service:default:`, so the same limit named `w` in scope `s` is measured too.
// Each system is measured by bench/lib/memory.mjs (used_memory delta over fresh identities, one
// decision each, after a FLUSHALL), one after another on one redis-server of its own.
import process from 'node:process';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/support/redis-process.mjs';
import { measureMemory } from './lib/memory.mjs';
import { SYSTEMS, library, windowMs } from './lib/systems.mjs';

const { values } = parseArgs({ options: { identities: { type: 'string', default: '100000' } } });
const IDENTITIES = Number(values.identities);

const byId = (id) => SYSTEMS.find((system) => system.id === id);
const systems = [
  byId('ceiling-fw'),
  byId('rlf'),
  byId('nestlab'),
  byId('library-fw'),
  {
    name: "nest-redis-rate-limit consume(), algorithm 'fixed-window', limit `w` in scope `s`",
    id: 'library-fw-short',
    setup: library(
      {},
      {},
      {
        limits: (profile) => ({
          algorithm: 'fixed-window',
          name: 'w',
          scope: 's',
          capacity: profile.capacity,
          windowMs: windowMs(profile),
        }),
      },
    ),
  },
];

const server = await startRedisServer();
const admin = new Redis(server.url);
try {
  const lines = [
    `${IDENTITIES.toLocaleString('en')} identities \`user:0\` … \`user:${IDENTITIES - 1}\`, one decision each, key prefix \`m:\`, Redis ${(await admin.info('server')).match(/redis_version:(\S+)/)?.[1]}`,
    '',
    '| system | bytes / identity | sample key | its length |',
    '|---|---:|---|---:|',
  ];
  for (const system of systems) {
    const m = await measureMemory(admin, server.url, system, IDENTITIES);
    lines.push(
      `| ${system.name} | ${m.bytesPerIdentity.toFixed(1)} | \`${m.sample}\` | ${m.sample?.length ?? 0} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  admin.disconnect();
  await server.stop();
}
