import { type ExecutionContext, IntrinsicException } from '@nestjs/common';
import type { HttpRequestLike } from '../keys/http-request.interface.js';
import { withRawUser } from './http.transport.js';
import type { RateLimitTransport } from './transport.interface.js';

/** What a resolver's context holds by default: Apollo `{ req }`, Mercurius `{ reply }`. */
interface GraphqlContext {
  req?: HttpRequestLike & { res?: { setHeader?(name: string, value: string): unknown } };
  reply?: { request?: HttpRequestLike; header?(name: string, value: string): unknown };
}

/** The parts of a resolver's `info` that tell a root field from a field resolver. */
interface ResolveInfo {
  parentType?: unknown;
  schema?: {
    getQueryType?(): unknown;
    getMutationType?(): unknown;
    getSubscriptionType?(): unknown;
  };
}

/**
 * GraphQL resolvers under @nestjs/graphql (Apollo on Express, Mercurius on Fastify), read from
 * the resolver's arguments so that the library does not depend on @nestjs/graphql. Identities
 * come from the underlying HTTP request; a denial is an error with
 * `extensions: { code: 'TOO_MANY_REQUESTS', retryAfter }`, which both servers pass through
 * (Apollo would turn an HttpException into INTERNAL_SERVER_ERROR).
 */
export class GraphqlTransport implements RateLimitTransport {
  readonly type = 'graphql';
  readonly hasUsers = true;

  request(context: ExecutionContext): HttpRequestLike {
    const graphql = contextOf(context);
    return withRawUser(graphql.req ?? graphql.reply?.request ?? {});
  }

  setHeader(context: ExecutionContext, name: string, value: string): void {
    const graphql = contextOf(context);
    if (graphql.reply?.header !== undefined) graphql.reply.header(name, value);
    else graphql.req?.res?.setHeader?.(name, value);
  }

  rateLimited(_decision: unknown, retryAfter: number): Promise<Error> {
    return Promise.resolve(
      withExtensions('Too Many Requests', { code: 'TOO_MANY_REQUESTS', retryAfter }),
    );
  }

  unavailable(_decision: unknown, retryAfter: number): Promise<Error> {
    return Promise.resolve(
      withExtensions('Service Unavailable', { code: 'SERVICE_UNAVAILABLE', retryAfter }),
    );
  }

  misconfigured(message: string): Promise<Error> {
    return Promise.resolve(new Error(message));
  }

  forbidden(): Promise<Error> {
    return Promise.resolve(withExtensions('Forbidden', { code: 'FORBIDDEN' }));
  }
}

/**
 * Whether the resolver resolves a root field (a query, mutation or subscription) rather than a
 * field of an object type: field resolvers are limited only where decorated themselves.
 */
export function isRootField(context: ExecutionContext): boolean {
  const info = context.getArgs<unknown[]>()[3] as ResolveInfo | undefined;
  const schema = info?.schema;
  if (info?.parentType === undefined || schema === undefined) return true;
  return [
    schema.getQueryType?.(),
    schema.getMutationType?.(),
    schema.getSubscriptionType?.(),
  ].includes(info.parentType);
}

function contextOf(context: ExecutionContext): GraphqlContext {
  return context.getArgs<unknown[]>()[2] ?? {};
}

/**
 * An IntrinsicException, so Nest's exception filter does not log a stack trace for every denied
 * resolver (an expected answer, not an application error); GraphQL servers read `extensions`.
 */
function withExtensions(message: string, extensions: Record<string, unknown>): Error {
  return Object.assign(new IntrinsicException(message), { extensions });
}
