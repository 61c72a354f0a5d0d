// Redis-side counters from INFO: CPU seconds, per-command call counts, memory.

export async function redisCounters(redis) {
  const info = await redis.info('all');
  const cpu = Number(field(info, 'used_cpu_sys')) + Number(field(info, 'used_cpu_user'));
  const commands = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    commands[match[1]] = Number(match[2]);
  return { cpu, commands };
}

/** Per decision: Redis CPU in µs, script calls (round trips) and every command, excluding INFO itself. */
export function perDecision(before, after, calls) {
  const commands = {};
  for (const [name, count] of Object.entries(after.commands)) {
    if (name === 'info') continue;
    const delta = count - (before.commands[name] ?? 0);
    if (delta > 0) commands[name] = delta / calls;
  }
  const roundTrips = (commands.evalsha ?? 0) + (commands.eval ?? 0);
  return { redisCpuUs: ((after.cpu - before.cpu) * 1e6) / calls, roundTrips, commands };
}

export async function usedMemory(redis) {
  return Number(field(await redis.info('memory'), 'used_memory'));
}

function field(info, name) {
  const match = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
  if (!match) throw new Error(`INFO has no ${name}`);
  return match[1].trim();
}
