import { randomUUID } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { type LimitOptions, RateLimitModule, RateLimitService } from 'nest-redis-rate-limit';
import { toIdentityResolver } from '../../lib/keys/identity-resolver.js';

const LIMIT: LimitOptions = { name: 'hostile', capacity: 3, refill: '1/hour' };
/** prefix (≤ 64) + 'service:hostile:{' + identity (≤ 128) + '}' */
const MAX_KEY_LENGTH = 256;

const IDENTITIES: readonly [string, string][] = [
  ['the empty string', ''],
  ['a 1 MB string', 'x'.repeat(1024 * 1024)],
  ['unicode', 'user:zoë-日本-🙂'],
  ['a hash tag', '{a}'],
  ['inverted braces', 'a}b{c'],
  ['a newline', 'user:a\nb'],
  ['a NUL byte', 'user:a\0b'],
  ['a plain identity', 'user:42'],
  ['a plain identity one byte off', 'user:43'],
];

const API_KEYS = ['sk_live_7f3a9c1e5b2d4a6f', 'pk-test-{braces}', 'key with spaces'];

/** An HTTP ExecutionContext carrying only the x-api-key header. */
function withApiKey(apiKey: string): ExecutionContext {
  const request = { headers: { 'x-api-key': apiKey }, ip: '203.0.113.9' };
  return {
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

describe('hostile identities on real Redis', () => {
  let moduleRef: TestingModule;
  let service: RateLimitService;
  let redis: Redis;
  const keyPrefix = `test:${randomUUID()}:`;

  beforeAll(async () => {
    const url = process.env.REDIS_URL!;
    moduleRef = await Test.createTestingModule({
      imports: [
        RateLimitModule.forRoot({ redis: url, keyPrefix, global: false, timeoutMs: 1_000 }),
      ],
    }).compile();
    await moduleRef.init();
    service = moduleRef.get(RateLimitService);
    redis = new Redis(url);
  });
  afterAll(async () => {
    await moduleRef?.close();
    await redis?.quit();
  });

  async function scanKeys(): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    for (let round = 0; round < 10_000; round++) {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
      if (cursor === '0') return keys;
    }
    throw new Error('SCAN did not finish');
  }

  it('gives each identity its own bucket: each can be drained in turn, so none shares a bucket', async () => {
    for (const [, identity] of IDENTITIES) {
      const decision = await service.consume(identity, LIMIT, 3);
      expect(decision.storeError).toBeUndefined();
      expect(decision.remaining).toBe(0);
    }
    // each identity was drained once; a second identity sharing its bucket would have been denied
    for (const [, identity] of IDENTITIES) {
      const next = await service.consume(identity, LIMIT);
      expect(next).toMatchObject({ allowed: false });
    }
    const keys = await scanKeys();
    expect(keys).toHaveLength(IDENTITIES.length);
  });

  it('bounds every Redis key it writes to a short length', async () => {
    const keys = await scanKeys();
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(Buffer.byteLength(key)).toBeLessThanOrEqual(MAX_KEY_LENGTH);
      expect(key).not.toMatch(/[\n\0]/);
    }
  });

  it('never writes an API key raw into a Redis key', async () => {
    const resolve = toIdentityResolver('apiKey')!;
    for (const apiKey of API_KEYS) {
      const identity = await resolve(withApiKey(apiKey), { ipv6Subnet: 64 });
      if (identity === undefined) throw new Error('a request with an API key has an identity');
      expect((await service.consume(identity, LIMIT)).storeError).toBeUndefined();
    }
    const keys = await scanKeys();
    expect(keys.length).toBe(IDENTITIES.length + API_KEYS.length);
    for (const apiKey of API_KEYS) {
      for (const key of keys) expect(key).not.toContain(apiKey);
    }
  });
});
