import type { ExecutionContext } from '@nestjs/common';

/** The part of Node's ServerResponse (Express's `res`, Fastify's `reply.raw`) the guard reads. */
export interface NodeResponse {
  readonly statusCode: number;
  readonly writableFinished: boolean;
  readonly destroyed: boolean;
  once(event: 'close' | 'finish', listener: () => void): unknown;
}

/** The Node response of an HTTP call (Express's `res`, Fastify's `reply.raw`), else undefined. */
export function nodeResponse(context: ExecutionContext): NodeResponse | undefined {
  if (context.getType() !== 'http') return undefined;
  const response = context.switchToHttp().getResponse<{ raw?: unknown } | undefined>();
  const raw = (response?.raw ?? response) as Partial<NodeResponse> | undefined;
  return typeof raw?.once === 'function' && typeof raw.statusCode === 'number'
    ? (raw as NodeResponse)
    : undefined;
}
