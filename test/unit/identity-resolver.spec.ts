import type { ExecutionContext } from '@nestjs/common';
import {
  InvalidApiKeyHeaderException,
  MAX_API_KEY_LENGTH,
} from '../../lib/http/invalid-api-key-header.exception.js';
import { hashIdentity } from '../../lib/keys/bucket-identity.js';
import { type IdentityResolver, toIdentityResolver } from '../../lib/keys/identity-resolver.js';

const SETTINGS = { ipv6Subnet: 64 };
const apiKey = toIdentityResolver('apiKey') as IdentityResolver;

function withHeader(header: unknown): ExecutionContext {
  const request = { headers: { 'x-api-key': header }, ip: '203.0.113.9' };
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

function refusal(header: unknown): InvalidApiKeyHeaderException {
  try {
    void apiKey(withHeader(header), SETTINGS);
  } catch (error) {
    if (error instanceof InvalidApiKeyHeaderException) return error;
    throw error;
  }
  throw new Error('the header was accepted');
}

describe("keyBy 'apiKey'", () => {
  it('hashes a key of exactly the maximum length', () => {
    const key = 'k'.repeat(MAX_API_KEY_LENGTH);
    expect(apiKey(withHeader(key), SETTINGS)).toBe(`key:${hashIdentity(key)}`);
  });

  it('falls back to the IP identity without a key or with an empty one', () => {
    expect(apiKey(withHeader(undefined), SETTINGS)).toBe('ip:203.0.113.9');
    expect(apiKey(withHeader(''), SETTINGS)).toBe('ip:203.0.113.9');
  });

  it.each([
    ['one character over the maximum', 'k'.repeat(MAX_API_KEY_LENGTH + 1)],
    ['1 MB', 's'.repeat(1024 * 1024)],
  ])('refuses a key of %s with a 400 naming the header and the bound', (_case, key) => {
    const error = refusal(key);
    expect(error.getStatus()).toBe(400);
    expect(error.message).toBe('x-api-key header must be at most 512 characters');
  });

  it.each([
    ['an array (a header sent twice, unjoined)', ['key-a', 'key-b']],
    ["a value Node joined with ', ' (a header sent twice)", 'key-a, key-b'],
    ['a comma in the key', 'key-a,key-b'],
  ])('refuses %s with a 400 saying it must be sent once', (_case, header) => {
    const error = refusal(header);
    expect(error.getStatus()).toBe(400);
    expect(error.message).toBe(
      'x-api-key header must be sent once, as a single value without commas',
    );
  });

  it('never echoes the refused key in the message or the response body', () => {
    const key = `secret-${'z'.repeat(600)}`;
    const error = refusal(key);
    expect(JSON.stringify(error.getResponse())).not.toContain('secret-');
    expect(error.message).not.toContain('secret-');
    expect(JSON.stringify(refusal(['secret-a', 'secret-b']).getResponse())).not.toContain(
      'secret-',
    );
  });
});
