// A separate process with its own connection, for concurrency.int-spec.ts. Plain ESM because
// ts-jest does not transform forked children. Loads the script the library ships, waits for
// 'go' so every worker fires at once, then reports how many of its requests were allowed.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';
import { Redis } from 'ioredis';

const [url, key, count, capacity, usPerToken] = process.argv.slice(2);
const lua = readFileSync(new URL('../../lib/algorithms/token-bucket.lua', import.meta.url), 'utf8');

const client = new Redis(url, { lazyConnect: true });
client.defineCommand('nrrlTokenBucket', { lua });
await client.connect();
process.send({ type: 'ready' });

process.once('message', async () => {
  const replies = await Promise.all(
    Array.from({ length: Number(count) }, () =>
      client.nrrlTokenBucket(1, key, '1', capacity, usPerToken, 1).then(
        (reply) => (reply[2] === 0 ? 'allowed' : 'denied'),
        () => 'error',
      ),
    ),
  );
  await client.quit();
  const tally = (outcome) => replies.filter((reply) => reply === outcome).length;
  process.send({
    type: 'done',
    allowed: tally('allowed'),
    denied: tally('denied'),
    errors: tally('error'),
  });
  process.disconnect();
});
