import { Controller, Get, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { RateLimit, RateLimitConfigError, RateLimitModule } from 'nest-redis-rate-limit';
import { createApp } from '../support/app-factory.js';

@Controller('ok')
class OkController {
  @Get()
  ok(): string {
    return 'ok';
  }
}

describe('configuration errors', () => {
  it('throws RateLimitConfigError naming Controller.handler when @RateLimit has capacity 0', () => {
    const declare = (): unknown => {
      @Controller('bad')
      class BadController {
        @RateLimit({ capacity: 0, refill: '1/s' })
        @Get()
        handler(): void {}
      }
      return BadController;
    };
    expect(declare).toThrow(RateLimitConfigError);
    expect(declare).toThrow(
      /^@RateLimit on BadController\.handler: capacity must be a positive integer.*\(got 0\)$/,
    );
  });

  it('lists every problem of a handler’s limits, one per line', () => {
    let thrown: unknown;
    try {
      class Reports {
        @RateLimit([
          { name: 'burst', capacity: 10, refill: '10/s' },
          { name: 'burst', capacity: 10, refill: '10/s' },
          // @ts-expect-error -- not a refill: the type refuses it, and so does the decorator
          { name: 'daily', capacity: 1.5, refill: 'ten per minute' },
        ])
        list(): void {}
      }
      void Reports;
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RateLimitConfigError);
    const lines = (thrown as Error).message.split('\n');
    expect(lines[0]).toBe('@RateLimit on Reports.list:');
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ {2}- \[1\]\.name 'burst' is used by two limits/),
      expect.stringMatching(/^ {2}- \[2\]\.capacity must be a positive integer/),
      expect.stringMatching(/^ {2}- \[2\]\.refill .*ten per minute/),
    ]);
  });

  describe.each(['express', 'fastify'] as const)('on %s', (adapter) => {
    // The options provider is built while the app is created, so creation (before init) rejects.
    it('refuses to create the app when forRootAsync returns a bad configuration', async () => {
      @Module({
        imports: [
          RateLimitModule.forRootAsync({
            useFactory: () =>
              Promise.resolve({ timeoutMs: 0, defaultLimit: { capacity: -1, refill: 1 } }),
          }),
        ],
        controllers: [OkController],
      })
      class BadAsyncModule {}

      const startup = createApp(adapter, { module: BadAsyncModule });
      await expect(startup).rejects.toThrow(RateLimitConfigError);
      await expect(startup).rejects.toThrow(/timeoutMs must be a positive integer \(got 0\)/);
      await expect(startup).rejects.toThrow(/defaultLimit: capacity must be a positive integer/);
    });
  });

  it('rejects the compile of a testing module with a bad forRootAsync config', async () => {
    const builder = Test.createTestingModule({
      imports: [RateLimitModule.forRootAsync({ useFactory: () => ({ keyPrefix: 'has space' }) })],
    });
    await expect(builder.compile()).rejects.toThrow(RateLimitConfigError);
    await expect(builder.compile()).rejects.toThrow(/keyPrefix must be/);
  });
});
