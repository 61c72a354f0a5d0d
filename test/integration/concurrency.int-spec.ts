import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { BUCKET_LUA } from '../../lib/algorithms/bucket-script.js';
import { redisTimeUs } from '../support/redis-time.js';

const WORKER = fileURLToPath(new URL('./token-bucket.worker.mjs', import.meta.url));
const WORKERS = 5;
const REQUESTS_PER_WORKER = 400;
const CAPACITY = 100;
const ONE_TOKEN_PER_DAY_US = 86_400_000_000;

interface Tally {
  readonly allowed: number;
  readonly denied: number;
  readonly errors: number;
}

describe('concurrency across processes', () => {
  const children: ChildProcess[] = [];

  afterEach(() => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it(`${WORKERS} processes firing ${WORKERS * REQUESTS_PER_WORKER} requests at one key of capacity ${CAPACITY}: exactly ${CAPACITY} pass`, async () => {
    const key = `test:${randomUUID()}:{shared}`;
    for (let i = 0; i < WORKERS; i++) {
      children.push(
        fork(
          WORKER,
          [
            process.env.REDIS_URL!,
            key,
            String(REQUESTS_PER_WORKER),
            String(CAPACITY),
            String(ONE_TOKEN_PER_DAY_US),
          ],
          { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
        ),
      );
    }
    for (const child of children) child.send({ lua: BUCKET_LUA });
    await Promise.all(children.map((child) => nextMessage(child)));
    const results = children.map((child) => nextMessage(child) as Promise<Tally>);
    for (const child of children) child.send('go');
    const tallies = await Promise.all(results);

    const sum = (field: keyof Tally) => tallies.reduce((total, tally) => total + tally[field], 0);
    expect(sum('errors')).toBe(0);
    expect(sum('allowed')).toBe(CAPACITY);
    expect(sum('denied')).toBe(WORKERS * REQUESTS_PER_WORKER - CAPACITY);

    const client = new Redis(process.env.REDIS_URL!);
    try {
      // the bucket is empty: full again a hundred days (of one token each) from now
      const debtUs = Number(await client.get(key)) - (await redisTimeUs(client));
      expect(debtUs / ONE_TOKEN_PER_DAY_US).toBeCloseTo(CAPACITY, 3);
    } finally {
      await client.quit();
    }
  }, 20_000);
});

async function nextMessage(child: ChildProcess): Promise<unknown> {
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`worker exited with code ${String(code)} before reporting`);
    }),
  ])) as [unknown];
  return message;
}
