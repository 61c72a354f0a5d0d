import type { ExecutionContext } from '@nestjs/common';
import type { RateLimitDecision } from '../decision/rate-limit-decision.interface.js';
import type { HttpRequestLike } from '../keys/http-request.interface.js';

/** Decides whether Express-style `trust proxy` trusts the hop at `address`, `hop` from the client side. */
export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * What the guard needs of one kind of context (HTTP, GraphQL, WebSocket, microservice): where
 * identities are read, where headers go, and how a denial is refused. A custom transport is a
 * subclass of RateLimitGuard overriding `transportFor`.
 *
 * @publicApi
 */
export interface RateLimitTransport {
  /** `context.getType()` of the contexts it serves. */
  readonly type: string;
  /** False where no user can be attached (a `'user'` limit there is a configuration error). */
  readonly hasUsers: boolean;
  /** The request identities are read from (`ip`, `headers`, `user`). */
  request(context: ExecutionContext, trustProxy: TrustProxy | undefined): HttpRequestLike;
  /** Sets a response header where the transport has a response; does nothing elsewhere. */
  setHeader(context: ExecutionContext, name: string, value: string): void;
  /** The error that refuses a denied call; `retryAfter` in whole seconds, -1: never. */
  rateLimited(decision: RateLimitDecision, retryAfter: number): Promise<Error>;
  /** The error that refuses a call when a fail-closed limit's store could not decide. */
  unavailable(decision: RateLimitDecision, retryAfter: number): Promise<Error>;
  /** The error for a limit that cannot derive an identity here (names the handler). */
  misconfigured(message: string): Promise<Error>;
  /** The error that refuses a call on the `denyList`. Absent: a ForbiddenException (HTTP 403). */
  forbidden?(): Promise<Error>;
}
