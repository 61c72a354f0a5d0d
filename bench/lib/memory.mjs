// Redis memory per active identity: used_memory delta over N fresh identities, MEMORY USAGE of one key.
import { runLoad } from './load.mjs';
import { usedMemory } from './redis-stats.mjs';

export const MEMORY_PROFILE = { capacity: 100, perMs: 60_000 };

export async function measureMemory(admin, url, system, identities) {
  await admin.flushall();
  const instance = await system.setup(url, MEMORY_PROFILE, 'm:');
  try {
    await instance.decide('user:warmup');
    await admin.flushall();
    const before = await usedMemory(admin);
    await runLoad(instance.decide, {
      calls: identities,
      concurrency: 256,
      keys: identities,
      record: false,
    });
    const after = await usedMemory(admin);
    const keys = await admin.dbsize();
    const sample = await admin.randomkey();
    const sampleBytes = sample === null ? 0 : await admin.memory('USAGE', sample, 'SAMPLES', '0');
    return {
      bytesPerIdentity: (after - before) / identities,
      keysPerIdentity: keys / identities,
      sample,
      sampleBytes,
    };
  } finally {
    await instance.close();
    await admin.flushall();
  }
}
