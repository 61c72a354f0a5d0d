import { type ExecutionContext, ForbiddenException } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { RateLimitUnavailableException } from '../http/rate-limit-unavailable.exception.js';
import { TooManyRequestsException } from '../http/too-many-requests.exception.js';
import type { HttpRequestLike } from '../keys/http-request.interface.js';
import type { RateLimitTransport } from './transport.interface.js';

/** Express and Fastify routes: 429 `TooManyRequestsException`, headers through the adapter. */
export class HttpTransport implements RateLimitTransport {
  readonly type = 'http';
  readonly hasUsers = true;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  request(context: ExecutionContext): HttpRequestLike {
    return withRawUser(context.switchToHttp().getRequest<HttpRequestLike>());
  }

  setHeader(context: ExecutionContext, name: string, value: string): void {
    this.adapterHost.httpAdapter.setHeader(context.switchToHttp().getResponse(), name, value);
  }

  rateLimited(_decision: unknown, retryAfter: number): Promise<Error> {
    return Promise.resolve(new TooManyRequestsException(retryAfter));
  }

  unavailable(decision: { storeError?: Error }): Promise<Error> {
    return Promise.resolve(new RateLimitUnavailableException(decision.storeError));
  }

  misconfigured(message: string): Promise<Error> {
    return Promise.resolve(new Error(message));
  }

  forbidden(): Promise<Error> {
    return Promise.resolve(new ForbiddenException());
  }
}

/**
 * The request, its user taken from the raw Node request where a Fastify middleware put it (Nest
 * middleware receives the raw request on Fastify).
 */
export function withRawUser(request: HttpRequestLike): HttpRequestLike {
  if (request.user !== undefined && request.user !== null) return request;
  const rawUser = request.raw?.user;
  if (rawUser === undefined || rawUser === null) return request;
  return { ip: request.ip, socket: request.socket, headers: request.headers, user: rawUser };
}
