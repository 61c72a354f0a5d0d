import type { ExecutionContext } from '@nestjs/common';
import {
  InvalidApiKeyHeaderException,
  MAX_API_KEY_LENGTH,
} from '../http/invalid-api-key-header.exception.js';
import type { KeyBy } from '../options/limit-options.interface.js';
import { hashIdentity, toBucketIdentity } from './bucket-identity.js';
import type { HttpRequestLike } from './http-request.interface.js';
import { normalizeIp } from './normalize-ip.js';

/** Settings every identity resolver shares, fixed when the guard starts. */
export interface IdentitySettings {
  readonly ipv6Subnet: number;
  /** The request of a context, whatever its transport; default: the HTTP request. */
  readonly requestOf?: (context: ExecutionContext) => HttpRequestLike;
}

/**
 * Resolves the bucket identity of a request: already prefixed by kind (`ip:`, `user:`, `key:`)
 * and made safe for a Redis key by toBucketIdentity. `undefined`: not known (yet): no user is
 * attached, a keyBy function returned nothing, or the transport has no address; the guard asks
 * again after the app's own guards, then falls back to the IP.
 */
export type IdentityResolver = (
  context: ExecutionContext,
  settings: IdentitySettings,
) => string | undefined | Promise<string | undefined>;

function requestOf(context: ExecutionContext, settings: IdentitySettings): HttpRequestLike {
  return settings.requestOf === undefined
    ? context.switchToHttp().getRequest<HttpRequestLike>()
    : settings.requestOf(context);
}

/** Thrown (and caught by the guard) when a keyBy function fails or returns a non-identity. */
class IdentityFunctionError extends Error {
  override readonly name = 'IdentityFunctionError';
}

/** The client's address (trust proxy honoured by the transport); undefined where it has none. */
export function ipIdentity(
  context: ExecutionContext,
  settings: IdentitySettings,
): string | undefined {
  const request = requestOf(context, settings);
  const address = request.ip ?? request.socket?.remoteAddress;
  return address === undefined
    ? undefined
    : toBucketIdentity(`ip:${normalizeIp(address, settings.ipv6Subnet)}`);
}

/** `user.id`, else `user.sub`, of the user the app attached; undefined without one. */
function userIdentity(context: ExecutionContext, settings: IdentitySettings): string | undefined {
  const user = requestOf(context, settings).user;
  const id = user?.id ?? user?.sub;
  if (typeof id === 'string' && id !== '') return toBucketIdentity(`user:${id}`);
  if (typeof id === 'number' && Number.isFinite(id)) return `user:${id}`;
  return undefined;
}

/**
 * The hashed `x-api-key`, checked before hashing so a hostile header costs O(1). Node joins a
 * repeated header into one value with ', ' (RFC 9110 allows it), so a comma means the header was
 * sent several times, or a key no one can tell from that: both are refused, as is an array.
 */
function apiKeyIdentity(context: ExecutionContext, settings: IdentitySettings): string | undefined {
  const apiKey: unknown = requestOf(context, settings).headers?.['x-api-key'];
  if (apiKey === undefined || apiKey === '') return ipIdentity(context, settings);
  if (typeof apiKey !== 'string') throw new InvalidApiKeyHeaderException('repeated');
  if (apiKey.length > MAX_API_KEY_LENGTH) throw new InvalidApiKeyHeaderException('too-long');
  if (apiKey.includes(',')) throw new InvalidApiKeyHeaderException('repeated');
  return `key:${hashIdentity(apiKey)}`;
}

function functionIdentity(keyBy: Exclude<KeyBy, string>): IdentityResolver {
  const fromResult = (result: unknown): string | undefined => {
    if (result === undefined || result === null) return undefined;
    if (typeof result === 'string') return toBucketIdentity(result);
    if (typeof result === 'number' && Number.isFinite(result))
      return toBucketIdentity(String(result));
    throw new IdentityFunctionError(
      `keyBy function returned ${typeof result}; it must return a string, a number or undefined`,
    );
  };
  return (context) => {
    const result = keyBy(context);
    return result instanceof Promise ? result.then(fromResult) : fromResult(result);
  };
}

/** Whether a resolver reads the user the app attaches (so it may wait for the app's guards). */
export function readsUser(resolver: IdentityResolver): boolean {
  return resolver === userIdentity || FUNCTION_RESOLVERS.has(resolver);
}

const FUNCTION_RESOLVERS = new WeakSet<IdentityResolver>();

/** The resolver for a KeyBy, or null when the KeyBy is not one. */
export function toIdentityResolver(keyBy: unknown): IdentityResolver | null {
  switch (keyBy) {
    case 'ip':
      return ipIdentity;
    case 'user':
      return userIdentity;
    case 'apiKey':
      return apiKeyIdentity;
    default: {
      if (typeof keyBy !== 'function') return null;
      const resolver = functionIdentity(keyBy as Exclude<KeyBy, string>);
      FUNCTION_RESOLVERS.add(resolver);
      return resolver;
    }
  }
}
