import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { RedisRateLimitStore, MemoryRateLimitStore } from 'nest-redis-rate-limit';

describe('smoke', () => {
  it('runs the script', async () => {
    const client = new Redis(process.env.REDIS_URL!);
    const store = new RedisRateLimitStore(client, true, 100);
    await store.onModuleInit();
    const key = `t:${randomUUID()}:{a}`;
    const rules = [{ capacity: 3, usPerToken: 1_000_000 / 3 }];
    const out = [];
    for (let i = 0; i < 5; i++) out.push(await store.take([key], rules, [1], true));
    const mem = new MemoryRateLimitStore();
    const out2 = [];
    for (let i = 0; i < 5; i++) out2.push(await mem.take([key], rules, [1], true));
    console.log(JSON.stringify(out), JSON.stringify(out2));
    await store.onModuleDestroy();
    mem.onModuleDestroy();
  });
});
