import type { AddressInfo, Server } from 'node:net';
import type { INestMicroservice, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  type ClientProxy,
  ClientProxyFactory,
  type TcpOptions,
  Transport,
} from '@nestjs/microservices';

export interface RunningMicroservice {
  readonly app: INestMicroservice;
  /** A Nest TCP client connected to it. */
  readonly client: ClientProxy;
  close(): Promise<void>;
}

/**
 * A pure TCP microservice of `module` (no HTTP app) on a free loopback port, without logs,
 * and a ClientProxy connected to it.
 */
export async function startTcpMicroservice(module: Type): Promise<RunningMicroservice> {
  const app = await NestFactory.createMicroservice<TcpOptions>(module, {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port: 0 },
    logger: false,
    abortOnError: false,
  });
  try {
    await app.listen();
  } catch (error) {
    await app.close();
    throw error;
  }
  const { port } = app.unwrap<Server>().address() as AddressInfo;
  const client = ClientProxyFactory.create({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
  });
  try {
    await client.connect();
  } catch (error) {
    await app.close();
    throw error;
  }
  return {
    app,
    client,
    close: async () => {
      await client.close();
      await app.close();
    },
  };
}
