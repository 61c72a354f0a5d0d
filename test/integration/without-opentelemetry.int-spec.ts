import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = promisify(execFile);

/**
 * Makes `@opentelemetry/api` unresolvable, as when the optional peer is not installed: an ES
 * module resolve hook (Node's own error code) and, for require(), the same for CommonJS.
 */
const HIDE_OTEL_ESM = `
export async function resolve(specifier, context, next) {
  if (specifier === '@opentelemetry/api' || specifier.startsWith('@opentelemetry/api/')) {
    throw Object.assign(new Error("Cannot find package '" + specifier + "'"), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}`;
const REGISTER_ESM = `import { register } from 'node:module';
register('./hide-otel.mjs', import.meta.url);`;
const HIDE_OTEL_CJS = `const Module = require('node:module');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@opentelemetry/api' || request.startsWith('@opentelemetry/api/')) {
    throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
  }
  return resolveFilename.call(this, request, ...rest);
};`;

/** Three consumes of a limit of 2 through the module's service; prints what happened as JSON. */
const APP = (load: string, loadOtel: string) => `
require('reflect-metadata');
(async () => {
  const { Module } = require('@nestjs/common');
  const { NestFactory } = require('@nestjs/core');
  const lib = await ${load};
  class AppModule {}
  Module({ imports: [lib.RateLimitModule.forRoot({ redis: process.env.REDIS_URL, keyPrefix: process.env.KEY_PREFIX, global: false, timeoutMs: 2000 })] })(AppModule);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const service = app.get(lib.RateLimitService);
  const sources = [];
  for (let i = 0; i < 3; i++) {
    const decision = await service.consume('user:1', { capacity: 2, refill: '2/h' });
    sources.push((decision.allowed ? 'allowed ' : 'denied ') + decision.source);
  }
  let otel = 'loaded';
  await ${loadOtel}.catch((error) => { otel = error.code; });
  await app.close();
  console.log(JSON.stringify({ sources, otel }));
})().catch((error) => { console.error(error); process.exit(1); });`;

describe('without the optional peer @opentelemetry/api', () => {
  // Inside node_modules, so the build and the apps resolve every other package from the repository.
  const dir = join(root, 'node_modules', '.cache', `nrrl-no-otel-${randomUUID()}`);

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    for (const path of ['lib', 'scripts', 'tsconfig.json', 'tsconfig.build.json']) {
      cpSync(join(root, path), join(dir, path), { recursive: true });
    }
    await run(process.execPath, ['scripts/build.mjs'], { cwd: dir });
    writeFileSync(join(dir, 'hide-otel.mjs'), HIDE_OTEL_ESM);
    writeFileSync(join(dir, 'register-hide-otel.mjs'), REGISTER_ESM);
    writeFileSync(join(dir, 'hide-otel.cjs'), HIDE_OTEL_CJS);
    writeFileSync(
      join(dir, 'esm-app.cjs'),
      APP(`import('./dist/index.js')`, `import('@opentelemetry/api')`),
    );
    writeFileSync(
      join(dir, 'cjs-app.cjs'),
      APP(
        `Promise.resolve(require('./dist/cjs/index.js'))`,
        `Promise.resolve().then(() => require('@opentelemetry/api'))`,
      ),
    );
  }, 120_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const runApp = async (args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, KEY_PREFIX: `test:${randomUUID()}:` };
    delete env['NODE_OPTIONS'];
    const { stdout } = await run(process.execPath, args, { cwd: dir, env });
    return JSON.parse(stdout) as unknown;
  };

  it('loads and decides as usual from the ES build', async () => {
    await expect(runApp(['--import', './register-hide-otel.mjs', 'esm-app.cjs'])).resolves.toEqual({
      sources: ['allowed redis', 'allowed redis', 'denied redis'],
      otel: 'ERR_MODULE_NOT_FOUND',
    });
  }, 30_000);

  it('loads and decides as usual from the CommonJS build', async () => {
    await expect(runApp(['--require', './hide-otel.cjs', 'cjs-app.cjs'])).resolves.toEqual({
      sources: ['allowed redis', 'allowed redis', 'denied redis'],
      otel: 'MODULE_NOT_FOUND',
    });
  }, 30_000);
});
