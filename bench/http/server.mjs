// One HTTP variant in its own process: `node bench/http/server.mjs <variant-id>` with REDIS_URL
// set, forked with an IPC channel. Sends { ready, port } once listening on 127.0.0.1, then answers
// every 'cpu' message with { cpu, served }: its own process.cpuUsage() and the requests received.
// They are read over IPC rather than from an HTTP endpoint so the route table and the guards are
// the same in every variant and no reading request is counted or limited.
// BENCH_LIBRARY (JSON, optional): { dist, keyPrefix, variant } for the library's guards, see
// guardSetup. The server exits when its parent's IPC channel closes.
import process from 'node:process';
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { VARIANTS, guardSetup } from './variants.mjs';

const variant = VARIANTS.find(({ id }) => id === process.argv[2]);
if (!variant || !process.send)
  throw new Error(`usage: fork server.mjs <${VARIANTS.map((v) => v.id)}>`);

const library = process.env.BENCH_LIBRARY ? JSON.parse(process.env.BENCH_LIBRARY) : {};
const { imports, providers, limits, lib } = await guardSetup(
  variant.guard,
  process.env.REDIS_URL,
  library,
);

class BenchController {
  hello() {
    return 'ok';
  }
}
const hello = Object.getOwnPropertyDescriptor(BenchController.prototype, 'hello');
if (limits) lib.RateLimit(limits)(BenchController.prototype, 'hello', hello);
Get()(BenchController.prototype, 'hello', hello);
Controller()(BenchController);

class BenchModule {}
Module({ imports, providers, controllers: [BenchController] })(BenchModule);

const app =
  variant.adapter === 'fastify'
    ? await NestFactory.create(
        BenchModule,
        new (await import('@nestjs/platform-fastify')).FastifyAdapter(),
        { logger: false },
      )
    : await NestFactory.create(BenchModule, { logger: false });
await app.listen(0, '127.0.0.1');

// Requests received, counted on the Node HTTP server itself (the same one listener in every
// variant): the load generator's count misses those in flight when it stops.
let served = 0;
app.getHttpServer().on('request', () => served++);

process.on('message', (message) => {
  if (message === 'cpu') process.send({ cpu: process.cpuUsage(), served });
  else if (message === 'stop') void app.close().then(() => process.exit(0));
});
// A parent that died without sending 'stop' leaves no server listening behind it.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, port: app.getHttpServer().address().port });
