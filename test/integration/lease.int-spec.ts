import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Test } from '@nestjs/testing';
import { type LimitOptions, RateLimitModule, RateLimitService } from 'nest-redis-rate-limit';
import { useRedisServices } from '../support/redis-services.js';

describe('token leasing on Redis', () => {
  const { module: instance, scriptCalls } = useRedisServices();

  it('takes a lease with the first request and spends it without round trips', async () => {
    const prefix = `test:${randomUUID()}:`;
    const limiter = (await instance({ keyPrefix: prefix })).get(RateLimitService);
    const limit: LimitOptions = { capacity: 100, refill: '100/hour', lease: { tokens: 10 } };
    const before = await scriptCalls();
    const first = await limiter.consume('user:1', limit);
    expect(first).toMatchObject({ allowed: true, remaining: 99 });
    expect(await scriptCalls()).toBe(before + 1);
    // Redis holds 89: the request's token and the ten leased are gone from it
    const peekedElsewhere = await (
      await instance({ keyPrefix: prefix })
    )
      .get(RateLimitService)
      .peek('user:1', { capacity: 100, refill: '100/hour' });
    expect(peekedElsewhere.remaining).toBe(89);

    const calls = await scriptCalls();
    const spent = [];
    for (let i = 0; i < 10; i++) spent.push(await limiter.consume('user:1', limit));
    expect(spent.every((decision) => decision.allowed)).toBe(true);
    expect(spent.map((decision) => decision.remaining)).toEqual([
      98, 97, 96, 95, 94, 93, 92, 91, 90, 89,
    ]);
    expect(await scriptCalls()).toBe(calls);
    await limiter.consume('user:1', limit);
    expect(await scriptCalls()).toBe(calls + 1);
  });

  it('never over-admits across instances, and expired leases go back so nothing is lost', async () => {
    const prefix = `test:${randomUUID()}:`;
    const plain: LimitOptions = { capacity: 20, refill: '20/hour' };
    const limit: LimitOptions = { ...plain, lease: { tokens: 6, ttlMs: 100 } };
    const a = (await instance({ keyPrefix: prefix })).get(RateLimitService);
    const b = (await instance({ keyPrefix: prefix })).get(RateLimitService);
    let allowed = 0;
    for (let i = 0; i < 60; i++) {
      if ((await (i % 2 === 0 ? a : b).consume('user:1', limit)).allowed) allowed++;
    }
    expect(allowed).toBeLessThanOrEqual(20);
    expect(allowed).toBeGreaterThanOrEqual(20 - 2 * 6);

    await sleep(400); // both leases expire and the sweep gives their rest back
    for (let i = 0; i < 40; i++) {
      if ((await (i % 2 === 0 ? a : b).consume('user:1', plain)).allowed) allowed++;
    }
    expect(allowed).toBe(20);
  });

  it('gives held tokens back when the module closes', async () => {
    const prefix = `test:${randomUUID()}:`;
    const moduleRef = await instance({ keyPrefix: prefix });
    const limit: LimitOptions = { capacity: 50, refill: '50/hour', lease: { tokens: 20 } };
    await moduleRef.get(RateLimitService).consume('user:1', limit);
    await moduleRef.close();

    const other = (await instance({ keyPrefix: prefix })).get(RateLimitService);
    expect((await other.peek('user:1', { capacity: 50, refill: '50/hour' })).remaining).toBe(49);
  });

  it('a request under a leasing and a non-leasing limit does not lease', async () => {
    const limiter = (await instance()).get(RateLimitService);
    const limits: LimitOptions[] = [
      { name: 'a', capacity: 10, refill: '10/hour', lease: { tokens: 5 } },
      { name: 'b', capacity: 10, refill: '10/hour' },
    ];
    const before = await scriptCalls();
    await limiter.consume('user:1', limits);
    await limiter.consume('user:1', limits);
    expect(await scriptCalls()).toBe(before + 2);
  });

  it('rejects a lease larger than the capacity, or a bad ttl, at startup', async () => {
    await expect(
      Test.createTestingModule({
        imports: [
          RateLimitModule.forRoot({
            defaultLimit: { capacity: 5, refill: 1, lease: { tokens: 6, ttlMs: 5 } },
          }),
        ],
      }).compile(),
    ).rejects.toThrow(
      /lease\.tokens must be an integer from 1 to the capacity \(5\) \(got 6\)[\s\S]*lease\.ttlMs must be an integer from 10 to 60000 \(got 5\)/,
    );
  });
});
