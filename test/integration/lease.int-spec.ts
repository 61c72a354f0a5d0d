import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Test } from '@nestjs/testing';
import { type LimitOptions, RateLimitModule, RateLimitService } from 'nest-redis-rate-limit';
import { useRedisServices } from '../support/redis-services.js';

describe('token leasing on Redis', () => {
  const { module: instance, service, scriptCalls } = useRedisServices();

  it('leases from the second request of a key and spends the lease without round trips', async () => {
    const prefix = `test:${randomUUID()}:`;
    const limiter = (await instance({ keyPrefix: prefix })).get(RateLimitService);
    // A lease of a minute: it must outlive the other module built in between on a slow machine.
    const limit: LimitOptions = {
      capacity: 100,
      refill: '100/hour',
      lease: { tokens: 10, ttlMs: 60_000 },
    };
    const peekElsewhere = async (): Promise<number> =>
      (
        await (
          await instance({ keyPrefix: prefix })
        )
          .get(RateLimitService)
          .peek('user:1', { capacity: 100, refill: '100/hour' })
      ).remaining;

    const before = await scriptCalls();
    // A key's first request leases nothing: a key that never comes back would cost a refund
    expect(await limiter.consume('user:1', limit)).toMatchObject({ allowed: true, remaining: 99 });
    expect(await peekElsewhere()).toBe(99);
    const second = await limiter.consume('user:1', limit);
    expect(second).toMatchObject({ allowed: true, remaining: 98 });
    expect(await scriptCalls()).toBe(before + 3); // two consumes, one peek
    // Redis holds 88: the two requests' tokens and the ten leased are gone from it
    expect(await peekElsewhere()).toBe(88);

    const calls = await scriptCalls();
    const spent = [];
    for (let i = 0; i < 10; i++) spent.push(await limiter.consume('user:1', limit));
    expect(spent.every((decision) => decision.allowed)).toBe(true);
    expect(spent.map((decision) => decision.remaining)).toEqual([
      97, 96, 95, 94, 93, 92, 91, 90, 89, 88,
    ]);
    expect(await scriptCalls()).toBe(calls);
    await limiter.consume('user:1', limit);
    expect(await scriptCalls()).toBe(calls + 1);
  });

  it('a key seen once and never again costs one round trip: nothing leased, nothing to give back', async () => {
    const limiter = await service();
    const limit: LimitOptions = {
      capacity: 100,
      refill: '100/hour',
      lease: { tokens: 10, ttlMs: 50 },
    };
    const before = await scriptCalls();
    for (let i = 0; i < 20; i++) await limiter.consume(`user:${i}`, limit);
    await sleep(300); // every lease entry expires and is swept
    expect(await scriptCalls()).toBe(before + 20);
  });

  it('gives back the expired leases of many keys in a call per sweep, not one per key', async () => {
    const prefix = `test:${randomUUID()}:`;
    const limiter = await service({ keyPrefix: prefix });
    const limit: LimitOptions = {
      capacity: 50,
      refill: '50/hour',
      lease: { tokens: 5, ttlMs: 1_000 },
    };
    const users = Array.from({ length: 30 }, (_, i) => `user:${i}`);
    for (const user of users) await limiter.consume(user, limit);
    // The second requests together, so the 30 leases are granted within a few ms however slow
    // the machine: each leases 5.
    await Promise.all(users.map((user) => limiter.consume(user, limit)));
    const before = await scriptCalls();
    await sleep(1_400); // every lease expires and the sweep (every 100 ms) gives them back
    // 30 leases granted within a few ms expire within one or two sweeps: one call each
    const refunds = (await scriptCalls()) - before;
    expect(refunds).toBeGreaterThanOrEqual(1);
    expect(refunds).toBeLessThanOrEqual(2);
    const other = await service({ keyPrefix: prefix });
    const plain: LimitOptions = { capacity: 50, refill: '50/hour' };
    for (const i of [0, 17, 29]) expect((await other.peek(`user:${i}`, plain)).remaining).toBe(48);
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
    // Held until the close, however long building the other module takes.
    const limit: LimitOptions = {
      capacity: 50,
      refill: '50/hour',
      lease: { tokens: 20, ttlMs: 60_000 },
    };
    const limiter = moduleRef.get(RateLimitService);
    await limiter.consume('user:1', limit);
    await limiter.consume('user:1', limit); // leases 20
    const other = (await instance({ keyPrefix: prefix })).get(RateLimitService);
    const plain: LimitOptions = { capacity: 50, refill: '50/hour' };
    expect((await other.peek('user:1', plain)).remaining).toBe(28);

    await moduleRef.close();
    expect((await other.peek('user:1', plain)).remaining).toBe(48);
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
