// One throwaway redis-server for the whole run, unless REDIS_URL points at one already.
import { REDIS_SERVER_MISSING, redisServerAvailable, startRedisServer } from './redis-process.mjs';

export default async function globalSetup() {
  if (process.env.REDIS_URL) return;
  if (!redisServerAvailable()) throw new Error(REDIS_SERVER_MISSING);
  const server = await startRedisServer();
  process.env.REDIS_URL = server.url;
  globalThis.__NRRL_REDIS__ = server;
}
