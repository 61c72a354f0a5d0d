import { ForbiddenException } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { RpcException } from '@nestjs/microservices';
import { WsException } from '@nestjs/websockets';
import { GraphqlTransport } from '../../lib/transports/graphql.transport.js';
import { HttpTransport } from '../../lib/transports/http.transport.js';
import { RpcTransport } from '../../lib/transports/rpc.transport.js';
import { WsTransport } from '../../lib/transports/ws.transport.js';

describe('the refusal of a denyList entry on each transport', () => {
  it('HTTP: a 403 ForbiddenException', async () => {
    const error = await new HttpTransport({} as HttpAdapterHost).forbidden();
    expect(error).toBeInstanceOf(ForbiddenException);
    expect((error as ForbiddenException).getResponse()).toEqual({
      statusCode: 403,
      message: 'Forbidden',
    });
  });

  it("GraphQL: an error with extensions.code 'FORBIDDEN'", async () => {
    const error = await new GraphqlTransport().forbidden();
    expect(error.message).toBe('Forbidden');
    expect(error).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
  });

  it('WebSocket: the gateway exception event of status 403', async () => {
    const error = await new WsTransport().forbidden();
    expect(error).toBeInstanceOf(WsException);
    expect((error as WsException).getError()).toEqual({
      status: 'error',
      statusCode: 403,
      message: 'Forbidden',
    });
  });

  it('microservices: an RpcException of status 403', async () => {
    const error = await new RpcTransport().forbidden();
    expect(error).toBeInstanceOf(RpcException);
    expect((error as RpcException).getError()).toEqual({ statusCode: 403, message: 'Forbidden' });
  });
});
