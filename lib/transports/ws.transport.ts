import type { ExecutionContext } from '@nestjs/common';
import type { HttpRequestLike } from '../keys/http-request.interface.js';
import type { RateLimitTransport, TrustProxy } from './transport.interface.js';

/** The parts of a gateway client identities are read from: socket.io's or ws's. */
interface WsClient {
  handshake?: { address?: string; headers?: Record<string, string | string[] | undefined> };
  _socket?: { remoteAddress?: string };
  user?: HttpRequestLike['user'];
  data?: { user?: HttpRequestLike['user'] };
}

/**
 * `@SubscribeMessage` handlers on @nestjs/platform-socket.io and @nestjs/platform-ws: each call
 * is one request. The IP is the connection's peer address, or behind a trusted proxy (the HTTP
 * app's `trust proxy`) the forwarded one, as on routes; socket.io keeps the handshake's headers,
 * ws does not (its peer address is used). The user is the one the app attached to the client
 * (`client.user`, else socket.io's `client.data.user`). A denial is the gateway's usual
 * exception event, a WsException of `{ status: 'error', statusCode, message, retryAfter }`.
 */
export class WsTransport implements RateLimitTransport {
  readonly type = 'ws';
  readonly hasUsers = true;

  request(context: ExecutionContext, trustProxy: TrustProxy | undefined): HttpRequestLike {
    const client = context.switchToWs().getClient<WsClient>();
    const headers = client.handshake?.headers ?? {};
    const peer = client.handshake?.address ?? client._socket?.remoteAddress;
    return {
      ip: peer === undefined ? undefined : forwardedAddress(peer, headers, trustProxy),
      headers,
      user: client.user ?? client.data?.user,
    };
  }

  setHeader(): void {}

  rateLimited(_decision: unknown, retryAfter: number): Promise<Error> {
    return wsException(429, 'Too Many Requests', retryAfter);
  }

  unavailable(_decision: unknown, retryAfter: number): Promise<Error> {
    return wsException(503, 'Service Unavailable', retryAfter);
  }

  async misconfigured(message: string): Promise<Error> {
    const { WsException } = await import('@nestjs/websockets');
    return new WsException(message);
  }

  async forbidden(): Promise<Error> {
    const { WsException } = await import('@nestjs/websockets');
    return new WsException({ status: 'error', statusCode: 403, message: 'Forbidden' });
  }
}

/** Loaded on first use: only apps with gateways have @nestjs/websockets (an optional peer). */
async function wsException(
  statusCode: number,
  message: string,
  retryAfter: number,
): Promise<Error> {
  const { WsException } = await import('@nestjs/websockets');
  return new WsException({ status: 'error', statusCode, message, retryAfter });
}

/**
 * The client's address as Express computes `req.ip`: walk the X-Forwarded-For chain from the
 * peer back towards the client while each hop is trusted. Without trust, the peer itself.
 */
function forwardedAddress(
  peer: string,
  headers: Record<string, string | string[] | undefined>,
  trustProxy: TrustProxy | undefined,
): string {
  if (trustProxy === undefined) return peer;
  const header = headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop !== '')
    .reverse();
  const chain = [peer, ...forwarded];
  for (let hop = 0; hop < chain.length - 1; hop++) {
    if (!trustProxy(chain[hop]!, hop)) return chain[hop]!;
  }
  return chain[chain.length - 1]!;
}
