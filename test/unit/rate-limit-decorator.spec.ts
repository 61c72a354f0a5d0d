import { Reflector } from '@nestjs/core';
import { RateLimit, RateLimitConfigError } from 'nest-redis-rate-limit';
import { LimitsMetadata } from '../../lib/decorators/rate-limit.decorator.js';
import type { ResolvedLimit } from '../../lib/options/resolved-limit.interface.js';

/** The limits @RateLimit left on a handler or a class. */
const limitsOf = (target: object): readonly ResolvedLimit[] | undefined =>
  Reflect.getMetadata(LimitsMetadata.KEY, target) as readonly ResolvedLimit[] | undefined;

describe('@RateLimit stacked on one target', () => {
  it('applies both decorators on a handler, the top one’s limits first', () => {
    class CatsController {
      @RateLimit({ name: 'burst', capacity: 10, refill: '10/s' })
      @RateLimit([
        { name: 'hourly', capacity: 100, refill: '100/h' },
        { name: 'daily', capacity: 1_000, refill: '1000/day' },
      ])
      list(): void {}
    }
    const handler = Object.getOwnPropertyDescriptor(CatsController.prototype, 'list')!.value as (
      ...args: unknown[]
    ) => unknown;
    expect(limitsOf(handler)?.map((limit) => limit.name)).toEqual(['burst', 'hourly', 'daily']);
    expect(limitsOf(handler)?.map((limit) => limit.capacity)).toEqual([10, 100, 1_000]);
    // what the guard reads, through Nest's Reflector
    expect(new Reflector().get(LimitsMetadata, handler).map((limit) => limit.name)).toEqual([
      'burst',
      'hourly',
      'daily',
    ]);
  });

  it('applies both decorators on a controller', () => {
    @RateLimit({ name: 'burst', capacity: 10, refill: '10/s' })
    @RateLimit({ name: 'daily', capacity: 1_000, refill: '1000/day' })
    class CatsController {}
    expect(limitsOf(CatsController)?.map((limit) => limit.name)).toEqual(['burst', 'daily']);
  });

  it('refuses two stacked limits of the same name, naming the handler', () => {
    const define = () => {
      class CatsController {
        @RateLimit({ capacity: 10, refill: '10/s' })
        @RateLimit({ capacity: 1_000, refill: '1000/day' })
        create(): void {}
      }
      return CatsController;
    };
    expect(define).toThrow(RateLimitConfigError);
    expect(define).toThrow(
      new RateLimitConfigError('@RateLimit on CatsController.create', [
        "name 'default' is used by two stacked @RateLimit decorators; give each limit its own name",
      ]),
    );
  });
});
