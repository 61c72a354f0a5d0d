import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { jest } from '@jest/globals';
import type { MercuriusDriver } from '@nestjs/mercurius';

/**
 * MercuriusDriver, loaded so that it works under jest: mercurius requires @fastify/static, which
 * requires content-disposition 3, an ES module only, and jest cannot require() an ES module
 * before Node 24.9 (the suite fails to load). That require gets the same module loaded as ESM.
 * Import @nestjs/mercurius only through this (a static import would load mercurius first).
 */
export async function loadMercuriusDriver(): Promise<typeof MercuriusDriver> {
  const fromHere = createRequire(import.meta.url);
  const fromMercurius = createRequire(fromHere.resolve('mercurius'));
  const fromStatic = createRequire(fromMercurius.resolve('@fastify/static'));
  const contentDisposition = fromStatic.resolve('content-disposition');
  const esm: unknown = await import(pathToFileURL(contentDisposition).href);
  jest.doMock(contentDisposition, () => esm);
  return (await import('@nestjs/mercurius')).MercuriusDriver;
}
