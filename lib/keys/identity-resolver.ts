import type { ExecutionContext } from '@nestjs/common';
import {
  InvalidApiKeyHeaderException,
  MAX_API_KEY_LENGTH,
} from '../http/invalid-api-key-header.exception.js';
import type { KeyBy } from '../options/limit-options.interface.js';
import { hashIdentity, toBucketIdentity } from './bucket-identity.js';
import type { HttpRequestLike } from './http-request.interface.js';
import { normalizeIp } from './normalize-ip.js';

/** Settings every identity resolver shares, fixed when the module starts. */
export interface IdentitySettings {
  readonly ipv6Subnet: number;
}

/**
 * Resolves the bucket identity of a request: already prefixed by kind (`ip:`, `user:`, `key:`)
 * and made safe for a Redis key by toBucketIdentity. Synchronous where it can be, so the hot
 * path pays for no promise.
 */
export type IdentityResolver = (
  context: ExecutionContext,
  settings: IdentitySettings,
) => string | Promise<string>;

/** Thrown (and caught by the guard) when a keyBy function fails or returns a non-identity. */
export class IdentityFunctionError extends Error {
  override readonly name = 'IdentityFunctionError';
}

export function ipIdentity(context: ExecutionContext, settings: IdentitySettings): string {
  const request = context.switchToHttp().getRequest<HttpRequestLike>();
  const address = request.ip ?? request.socket?.remoteAddress ?? 'unknown';
  return toBucketIdentity(`ip:${normalizeIp(address, settings.ipv6Subnet)}`);
}

function userIdentity(context: ExecutionContext, settings: IdentitySettings): string {
  const user = context.switchToHttp().getRequest<HttpRequestLike>().user;
  const id = user?.id ?? user?.sub;
  if (typeof id === 'string' && id !== '') return toBucketIdentity(`user:${id}`);
  if (typeof id === 'number' && Number.isFinite(id)) return `user:${id}`;
  return ipIdentity(context, settings);
}

/**
 * The hashed `x-api-key`, checked before hashing so a hostile header costs O(1). Node joins a
 * repeated header into one value with ', ' (RFC 9110 allows it), so a comma means the header was
 * sent several times, or a key no one can tell from that: both are refused, as is an array.
 */
function apiKeyIdentity(context: ExecutionContext, settings: IdentitySettings): string {
  const apiKey: unknown = context.switchToHttp().getRequest<HttpRequestLike>().headers?.[
    'x-api-key'
  ];
  if (apiKey === undefined || apiKey === '') return ipIdentity(context, settings);
  if (typeof apiKey !== 'string') throw new InvalidApiKeyHeaderException('repeated');
  if (apiKey.length > MAX_API_KEY_LENGTH) throw new InvalidApiKeyHeaderException('too-long');
  if (apiKey.includes(',')) throw new InvalidApiKeyHeaderException('repeated');
  return `key:${hashIdentity(apiKey)}`;
}

function functionIdentity(keyBy: Exclude<KeyBy, string>): IdentityResolver {
  const fromResult = (
    result: unknown,
    context: ExecutionContext,
    settings: IdentitySettings,
  ): string => {
    if (result === undefined || result === null) return ipIdentity(context, settings);
    if (typeof result === 'string') return toBucketIdentity(result);
    if (typeof result === 'number' && Number.isFinite(result))
      return toBucketIdentity(String(result));
    throw new IdentityFunctionError(
      `keyBy function returned ${typeof result}; it must return a string, a number or undefined`,
    );
  };
  return (context, settings) => {
    const result = keyBy(context);
    return result instanceof Promise
      ? result.then((value) => fromResult(value, context, settings))
      : fromResult(result, context, settings);
  };
}

/** The resolver for a KeyBy, or null when the KeyBy is not one. */
export function toIdentityResolver(keyBy: unknown): IdentityResolver | null {
  switch (keyBy) {
    case 'ip':
      return ipIdentity;
    case 'user':
      return userIdentity;
    case 'apiKey':
      return apiKeyIdentity;
    default:
      return typeof keyBy === 'function' ? functionIdentity(keyBy as Exclude<KeyBy, string>) : null;
  }
}
