import type { Cluster, Redis } from 'ioredis';

/** Redis's clock (TIME) in microseconds: the clock the scripts judge by. */
export async function redisTimeUs(client: Redis | Cluster): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1_000_000 + Number(micros);
}
