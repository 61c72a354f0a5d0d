import type { AddressInfo } from 'node:net';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: readonly AdapterName[] = ['express', 'fastify'];

export interface RunningApp {
  readonly app: INestApplication;
  /** `http://127.0.0.1:<port>`, for supertest. */
  readonly url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Trust X-Forwarded-For from these proxy addresses (Express `trust proxy`, Fastify `trustProxy`). */
  readonly trustProxy?: string;
}

/** Creates the app on the given adapter without logs, and listens on a free loopback port. */
export async function startApp(
  adapter: AdapterName,
  module: DynamicModule,
  options: StartOptions = {},
): Promise<RunningApp> {
  return listenApp(await createApp(adapter, module, options));
}

/** Listens on a free loopback port (closing the app if that fails). */
export async function listenApp(app: INestApplication): Promise<RunningApp> {
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close();
    throw error;
  }
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** abortOnError false: a startup failure rejects instead of ending the test process. */
export async function createApp(
  adapter: AdapterName,
  module: DynamicModule,
  options: StartOptions = {},
): Promise<INestApplication> {
  const settings = { logger: false, abortOnError: false } as const;
  if (adapter === 'fastify') {
    const fastify = new FastifyAdapter(
      options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy },
    );
    return NestFactory.create(module, fastify, settings);
  }
  const app = await NestFactory.create<NestExpressApplication>(
    module,
    new ExpressAdapter(),
    settings,
  );
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);
  return app;
}
