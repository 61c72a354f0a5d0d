import { createHash } from 'node:crypto';

/** Identities stored as they are; anything else (long, braces, control bytes, '#') is hashed. */
const PLAIN_IDENTITY = /^[\w.:@/+=-]{1,128}$/;

/** SHA-256, base64url: how secrets (API keys) and unsafe identities appear in Redis keys. */
export function hashIdentity(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/**
 * The identity as it appears inside a Redis key's hash tag. Plain identities are kept readable;
 * any other string becomes `#<sha256>`. Plain identities never contain `#`, so a plain and a
 * hashed identity never collide, and the key length stays bounded.
 */
export function toBucketIdentity(raw: string): string {
  return PLAIN_IDENTITY.test(raw) ? raw : `#${hashIdentity(raw)}`;
}
