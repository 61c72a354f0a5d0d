import { randomUUID } from 'node:crypto';
import { Controller, Module } from '@nestjs/common';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { RateLimit, RateLimitModule } from 'nest-redis-rate-limit';
import { lastValueFrom } from 'rxjs';
import { type RunningMicroservice, startTcpMicroservice } from '../support/microservice-factory.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

/** How often each handler ran in the current test. */
const calls = new Map<string, number>();
function count(handler: string): number {
  const n = (calls.get(handler) ?? 0) + 1;
  calls.set(handler, n);
  return n;
}

@Controller()
class RpcController {
  @RateLimit({ capacity: 2, refill: '1/min' })
  @MessagePattern('sum')
  sum(numbers: number[]): number {
    count('sum');
    return numbers.reduce((total, n) => total + n, 0);
  }

  @RateLimit({ capacity: 1, refill: '1/min' })
  @EventPattern('audit')
  audit(_event: { i: number }): void {
    count('audit');
  }

  /**
   * How often `audit` ran. Limited too, so its answer waits for a decision of the store, which
   * comes after the decisions of the events sent before it on the same connection.
   */
  @RateLimit({ capacity: 100, refill: '100/min' })
  @MessagePattern('audited')
  audited(): number {
    return calls.get('audit') ?? 0;
  }

  /** No user exists in an RPC context. */
  @RateLimit({ capacity: 2, refill: '1/min', keyBy: 'user' })
  @MessagePattern('whoami')
  whoami(): string {
    count('whoami');
    return 'nobody';
  }
}

describe('microservice handlers on TCP', () => {
  let redis: Redis;
  let running: RunningMicroservice | undefined;
  let keyPrefix: string;

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
  });

  afterAll(async () => {
    await redis.quit();
  });

  beforeEach(async () => {
    calls.clear();
    keyPrefix = `e2e:${randomUUID()}:`;
    @Module({
      imports: [
        RateLimitModule.forRoot({
          redis: process.env.REDIS_URL!,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix,
        }),
      ],
      controllers: [RpcController],
    })
    class MicroserviceModule {}
    running = await startTcpMicroservice(MicroserviceModule);
  });

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  const send = <T>(pattern: string, data: unknown = {}): Promise<T> =>
    lastValueFrom(running!.client.send<T>(pattern, data));

  /** What a call rejected with, or a failure if it answered. */
  async function rejection(pattern: string, data: unknown = {}): Promise<unknown> {
    let answer: unknown;
    try {
      answer = await send(pattern, data);
    } catch (error) {
      return error;
    }
    throw new Error(
      `expected '${pattern}' to be refused, got the answer ${JSON.stringify(answer)}`,
    );
  }

  it('answers a @MessagePattern twice, then rejects with an RpcException of 429, handler not run', async () => {
    await expect(send('sum', [1, 2])).resolves.toBe(3);
    await expect(send('sum', [3, 4])).resolves.toBe(7);
    const error = await rejection('sum', [5, 6]);
    expect(error).toMatchObject({ statusCode: 429, message: 'Too Many Requests' });
    const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(calls.get('sum')).toBe(2);
  });

  it("keys 'ip' by the peer address of the TCP connection", async () => {
    await send('sum', [1]);
    const keys = (await redis.keys(`${keyPrefix}*`)).map((key) => key.slice(keyPrefix.length));
    expect(keys).toEqual(['RpcController.sum:default:{ip:127.0.0.1}']);
  });

  it('runs an @EventPattern handler only while its limit allows', async () => {
    for (let i = 0; i < 3; i++) {
      await lastValueFrom(running!.client.emit('audit', { i }), { defaultValue: undefined });
    }
    await expect(send('audited')).resolves.toBe(1);
  });

  it("refuses a keyBy 'user' limit where no user can exist, naming the handler and the keyBy to give", async () => {
    for (let i = 0; i < 2; i++) {
      const { message } = (await rejection('whoami')) as { message?: unknown };
      expect(message).toEqual(expect.any(String));
      expect(message).toContain('RpcController.whoami');
      expect(message).toContain('keyBy');
    }
    expect(calls.get('whoami')).toBeUndefined();
  });
});
