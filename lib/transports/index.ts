import type { HttpAdapterHost } from '@nestjs/core';
import { GraphqlTransport } from './graphql.transport.js';
import { HttpTransport } from './http.transport.js';
import { RpcTransport } from './rpc.transport.js';
import type { RateLimitTransport } from './transport.interface.js';
import { WsTransport } from './ws.transport.js';

/** The transports the guard serves, by `context.getType()`: adding one is one line here. */
export function defaultTransports(adapterHost: HttpAdapterHost): Map<string, RateLimitTransport> {
  return new Map<string, RateLimitTransport>(
    [
      new HttpTransport(adapterHost),
      new GraphqlTransport(),
      new WsTransport(),
      new RpcTransport(),
    ].map((transport) => [transport.type, transport]),
  );
}
