import { jest } from '@jest/globals';
import { type ExecutionContext, Logger } from '@nestjs/common';
import { InvalidApiKeyHeaderException } from '../../lib/http/invalid-api-key-header.exception.js';
import { type IdentityResolver, toIdentityResolver } from '../../lib/keys/identity-resolver.js';
import { RequestInputs } from '../../lib/guard/request-inputs.js';
import { resolveLimits } from '../../lib/options/resolve-limits.js';
import type { ResolvedLimit } from '../../lib/options/resolved-limit.interface.js';

const SETTINGS = { ipv6Subnet: 64 };

function context(headers: Record<string, unknown> = {}): ExecutionContext {
  const request = { headers, ip: '203.0.113.9' };
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

function limitCosting(cost: () => unknown): ResolvedLimit {
  return resolveLimits(
    { name: 'upload', capacity: 10, refill: 1, cost: cost as () => number },
    'test',
  )[0]!;
}

describe('RequestInputs', () => {
  let errors: string[];
  beforeEach(() => {
    errors = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      errors.push(String(message));
    });
  });
  afterEach(() => jest.restoreAllMocks());

  describe('cost of a cost function', () => {
    it.each([
      ['Infinity', () => Infinity],
      ['NaN', () => Number.NaN],
      ['a negative number', () => -3],
      ['a numeric string', () => '5'],
      ['a bigint', () => 5n],
      ['undefined', () => undefined],
      ['an object', () => ({ cost: 2 })],
      ['a rejected promise', () => Promise.reject(new Error('db down'))],
    ])('returning %s is logged once and costs 1', async (_case, cost) => {
      const inputs = new RequestInputs(SETTINGS);
      await expect(inputs.cost(limitCosting(cost), context())).resolves.toBe(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain("cost function of limit 'upload'");
    });

    it('that throws is logged and costs 1', async () => {
      const inputs = new RequestInputs(SETTINGS);
      const limit = limitCosting(() => {
        throw new TypeError('no body');
      });
      await expect(inputs.cost(limit, context())).resolves.toBe(1);
      expect(errors[0]).toContain('threw TypeError: no body');
    });

    it.each([
      ['above the capacity', 11],
      ['huge but finite', 1e300],
      ['the largest double', Number.MAX_VALUE],
    ])('returning a cost %s passes it on unchanged, for the store to deny', async (_c, cost) => {
      const inputs = new RequestInputs(SETTINGS);
      await expect(
        inputs.cost(
          limitCosting(() => cost),
          context(),
        ),
      ).resolves.toBe(cost);
      expect(errors).toEqual([]);
    });
  });

  describe('identity', () => {
    const apiKey = toIdentityResolver('apiKey') as IdentityResolver;

    it('lets the 400 of a refused x-api-key through, unlogged', async () => {
      const inputs = new RequestInputs(SETTINGS);
      const secret = `secret-${'x'.repeat(600)}`;
      await expect(inputs.identity(apiKey, context({ 'x-api-key': secret }))).rejects.toThrow(
        InvalidApiKeyHeaderException,
      );
      expect(errors).toEqual([]);
    });

    it('still limits by IP, logged, when a keyBy function throws', async () => {
      const inputs = new RequestInputs(SETTINGS);
      const failing = toIdentityResolver(() => {
        throw new Error('boom');
      }) as IdentityResolver;
      await expect(inputs.identity(failing, context())).resolves.toBe('ip:203.0.113.9');
      expect(errors).toHaveLength(1);
    });
  });
});
