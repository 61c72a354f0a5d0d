// Starts bench/http/server.mjs for one variant as a child with an IPC channel, optionally under a
// wrapper command (valgrind). Resolves once it listens: { variant, port, pid, cpu(), stop() }.
// `library`: which build and configuration of the library the server loads (BENCH_LIBRARY, see
// guardSetup in variants.mjs); by default dist/ with the variant's own options.
import { fork, spawn } from 'node:child_process';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url));

export function startServer(variant, redisUrl, { wrapper, library } = {}) {
  const env = { ...process.env, REDIS_URL: redisUrl };
  if (library) env.BENCH_LIBRARY = JSON.stringify(library);
  else delete env.BENCH_LIBRARY;
  const options = {
    env,
    stdio: ['ignore', wrapper ? 'ignore' : 'inherit', wrapper ? 'ignore' : 'inherit', 'ipc'],
  };
  const child = wrapper
    ? spawn(wrapper[0], [...wrapper.slice(1), process.execPath, SERVER, variant.id], options)
    : fork(SERVER, [variant.id], options);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${variant.id} server exited (${code})`)));
    child.once('message', ({ port }) =>
      resolve({
        variant,
        port,
        pid: child.pid,
        /** { cpu: process.cpuUsage(), served: requests received so far } of the server. */
        cpu: () => ask(child, 'cpu'),
        stop: () => {
          if (child.connected) child.send('stop');
          // A server that does not close in time is ended by its pid.
          const timer = setTimeout(() => child.kill('SIGKILL'), wrapper ? 30_000 : 5_000);
          return exited.finally(() => clearTimeout(timer));
        },
      }),
    );
  });
}

function ask(child, message) {
  return new Promise((answer) => {
    child.once('message', answer);
    child.send(message);
  });
}
