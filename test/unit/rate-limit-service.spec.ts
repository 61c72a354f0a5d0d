import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { type LimitOptions, RateLimitModule, RateLimitService } from 'nest-redis-rate-limit';

describe('RateLimitService (memory store)', () => {
  let moduleRef: TestingModule;
  let service: RateLimitService;

  beforeEach(async () => {
    // the memory store announces itself
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    moduleRef = await Test.createTestingModule({
      imports: [RateLimitModule.forRoot({ global: false })],
    }).compile();
    await moduleRef.init();
    service = moduleRef.get(RateLimitService);
  });

  afterEach(async () => {
    await moduleRef.close();
    jest.restoreAllMocks();
  });

  describe('a limits object', () => {
    it('is frozen on first use, with the objects inside it: a later change throws', async () => {
      const limits = { capacity: 5, refill: { tokens: 5, intervalMs: 60_000 } };
      await service.consume('user:1', limits);
      expect(Object.isFrozen(limits)).toBe(true);
      expect(Object.isFrozen(limits.refill)).toBe(true);
      // test files are ES modules: strict mode, so writing a frozen property throws
      expect(() => {
        limits.capacity = 50;
      }).toThrow(TypeError);
      expect(() => {
        limits.refill.tokens = 50;
      }).toThrow(TypeError);
      expect(limits).toEqual({ capacity: 5, refill: { tokens: 5, intervalMs: 60_000 } });
    });

    it('is frozen on first use as an array too', async () => {
      const limits: LimitOptions[] = [{ name: 'burst', capacity: 2, refill: '2/s' }];
      await service.peek('user:1', limits);
      expect(Object.isFrozen(limits)).toBe(true);
      expect(Object.isFrozen(limits[0])).toBe(true);
      expect(() => limits.push({ name: 'daily', capacity: 9, refill: '9/day' })).toThrow(TypeError);
    });

    it('keeps its decisions: the same object always limits the same buckets', async () => {
      const limits = { capacity: 2, refill: '2/min' } as const;
      const first = await service.consume('user:1', limits);
      const second = await service.consume('user:1', limits);
      const third = await service.consume('user:1', limits);
      expect([first.remaining, second.remaining, third.allowed]).toEqual([1, 0, false]);
      expect(third.source).toBe('memory');
    });
  });

  describe('reset(key, limits)', () => {
    it('accepts limits with a cost function, which it never calls, and refills their buckets', async () => {
      const plain: LimitOptions = { capacity: 2, refill: '2/min' };
      const cost = jest.fn(() => 1);
      const costed: LimitOptions = { capacity: 2, refill: '2/min', cost };
      await service.consume('user:1', plain, 2);
      expect((await service.peek('user:1', plain)).allowed).toBe(false);
      await expect(service.reset('user:1', costed)).resolves.toBeUndefined();
      expect(cost).not.toHaveBeenCalled();
      expect(await service.peek('user:1', plain)).toMatchObject({ allowed: true, remaining: 2 });
    });
  });
});
