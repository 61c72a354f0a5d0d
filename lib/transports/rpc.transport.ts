import type { ExecutionContext } from '@nestjs/common';
import type { HttpRequestLike } from '../keys/http-request.interface.js';
import type { RateLimitTransport } from './transport.interface.js';

/** What a microservice handler's context may hold: TCP's TcpContext gives the socket. */
interface RpcContextLike {
  getSocketRef?(): { socket?: { remoteAddress?: string } } | undefined;
}

/**
 * `@MessagePattern` and `@EventPattern` handlers. `'ip'` is the peer address where the
 * transport has one (TCP); there is no user and no header, so a limit keyed by them is a
 * configuration error naming the handler. A denial is an RpcException of
 * `{ statusCode, message, retryAfter }`.
 */
export class RpcTransport implements RateLimitTransport {
  readonly type = 'rpc';
  readonly hasUsers = false;

  request(context: ExecutionContext): HttpRequestLike {
    const rpc = context.switchToRpc().getContext<RpcContextLike | undefined>();
    return { ip: rpc?.getSocketRef?.()?.socket?.remoteAddress, headers: {} };
  }

  setHeader(): void {}

  rateLimited(_decision: unknown, retryAfter: number): Promise<Error> {
    return rpcException({ statusCode: 429, message: 'Too Many Requests', retryAfter });
  }

  unavailable(_decision: unknown, retryAfter: number): Promise<Error> {
    return rpcException({ statusCode: 503, message: 'Service Unavailable', retryAfter });
  }

  misconfigured(message: string): Promise<Error> {
    return rpcException({ statusCode: 500, message });
  }

  forbidden(): Promise<Error> {
    return rpcException({ statusCode: 403, message: 'Forbidden' });
  }
}

/** Loaded on first use: only apps with microservices have @nestjs/microservices (an optional peer). */
async function rpcException(error: Record<string, unknown>): Promise<Error> {
  const { RpcException } = await import('@nestjs/microservices');
  return new RpcException(error);
}
