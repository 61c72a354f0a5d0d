// Runs the sample app (sample-app/src) as separate Node processes, the way it is deployed, for
// the multi-instance test and bench. Plain ESM so the bench can load it without a TS loader.
import { spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './redis-process.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const READY_TIMEOUT_MS = 30_000;
/** A build this old was left by a run that was killed before it could remove it. */
const STALE_BUILD_MS = 60 * 60 * 1000;
const STOP_TIMEOUT_MS = 5_000;
/** Variables the parent may carry (jest sets REDIS_URL and NODE_OPTIONS) that would change the app. */
const INHERITED_OUT = [
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'RATE_LIMIT_MODE',
  'RATE_LIMIT_TIMEOUT_MS',
  'RATE_LIMIT_MEMORY_MAX_KEYS',
  'RATE_LIMIT_FAILURE_STRATEGY',
  'RATE_LIMIT_INSTANCES',
  'SOAK_REPORT',
  'SOAK_GC_EVERY',
  'TRUST_PROXY',
  'PORT',
  'NODE_OPTIONS',
];

/**
 * Compiles lib/ and sample-app/src/ file by file (ts.transpileModule: the tsconfig sets
 * isolatedModules, so this emits what tsc would; type errors are `npm run lint`'s job) into a
 * private directory under node_modules/.cache, so a test needs no prior build and never races
 * another build writing dist/. The directory's package.json names the package, so the app's
 * `import 'nest-redis-rate-limit'` resolves to the library compiled beside it.
 * Returns { entry, dir, remove() }.
 */
export async function buildSampleApp() {
  const { default: ts } = await import('typescript');
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  for (const entry of readdirSync(cache)) {
    const old = join(cache, entry);
    if (
      entry.startsWith('nrrl-sample-app-') &&
      Date.now() - (statSync(old, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) >
        STALE_BUILD_MS
    ) {
      rmSync(old, { recursive: true, force: true });
    }
  }
  const dir = mkdtempSync(join(cache, 'nrrl-sample-app-'));
  const compilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    esModuleInterop: true,
    isolatedModules: true,
  };
  for (const folder of ['lib', join('sample-app', 'src')]) {
    for (const entry of readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const from = join(entry.parentPath, entry.name);
      const to = join(dir, relative(ROOT, from));
      mkdirSync(dirname(to), { recursive: true });
      if (entry.name.endsWith('.lua')) cpSync(from, to);
      if (!entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
      const { outputText } = ts.transpileModule(readFileSync(from, 'utf8'), {
        compilerOptions,
        fileName: from,
      });
      writeFileSync(to.replace(/\.ts$/, '.js'), outputText);
    }
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'nest-redis-rate-limit',
      private: true,
      type: 'module',
      exports: { '.': './lib/index.js' },
    }),
  );
  return {
    entry: join(dir, 'sample-app', 'src', 'main.js'),
    dir,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** dist-sample/main.js, as built by `npm run build:sample`. */
export const BUILT_SAMPLE_APP = join(ROOT, 'dist-sample', 'main.js');

/**
 * Starts one sample app process on a free loopback port with the given environment (REDIS_URL or
 * REDIS_CLUSTER_NODES, RATE_LIMIT_MODE...), and resolves once GET /health answers 200.
 * `nodeArgs` go before the entry; `onLine` sees each stdout line first and returns true for the
 * lines it takes (they stay out of output()). Returns { url, port, pid, output(), exited(), stop() }.
 */
export async function startSampleApp({ entry, env = {}, nodeArgs = [], onLine }) {
  const port = await freePort();
  const base = { ...process.env };
  for (const name of INHERITED_OUT) delete base[name];
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    env: { ...base, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (text) => {
    output = (output + text).slice(-8_000);
  };
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    for (const line of lines) if (onLine?.(line) !== true) keep(line + '\n');
  });
  child.stderr.on('data', (chunk) => keep(chunk.toString()));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (hasExited()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  try {
    await Promise.race([
      waitForHealth(url),
      exited.then((code) => {
        throw new Error(`sample app exited (${code}) before answering:\n${output}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, pid: child.pid, output: () => output, exited: hasExited, stop };
}

/** Starts `count` instances with the same environment; all or none. */
export async function startSampleApps(count, options) {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => startSampleApp(options)),
  );
  const apps = started.filter((result) => result.status === 'fulfilled').map((r) => r.value);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(apps.map((app) => app.stop()));
    throw failed.reason;
  }
  return apps;
}

/** Resolves once GET /health answers 200, or throws after READY_TIMEOUT_MS. */
async function waitForHealth(url) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if ((await healthStatus(url)) === 200) return;
    await sleep(50);
  }
  throw new Error(`sample app at ${url} did not answer GET /health within ${READY_TIMEOUT_MS} ms`);
}

function healthStatus(url) {
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { timeout: 1_000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
    req.end();
  });
}
