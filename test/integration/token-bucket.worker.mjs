// A separate process with its own connection, for concurrency.int-spec.ts. Plain ESM because
// ts-jest does not transform forked children. Receives the bucket script the library sends
// (BUCKET_LUA) as its first message, waits for 'go' so every worker fires at once, then reports
// how many of its requests were allowed.
import process from 'node:process';
import { once } from 'node:events';
import { Redis } from 'ioredis';

const [url, key, count, capacity, usPerToken] = process.argv.slice(2);
const TOKEN_BUCKET = 1;

const [{ lua }] = await once(process, 'message');
const client = new Redis(url, { lazyConnect: true });
client.defineCommand('nrrlBuckets', { lua });
await client.connect();
process.send({ type: 'ready' });

process.once('message', async () => {
  const replies = await Promise.all(
    Array.from({ length: Number(count) }, () =>
      // One decision (1) of one key (1) and five arguments (5): consume ('1') one token.
      client.nrrlBuckets(1, key, 1, 1, 5, '1', TOKEN_BUCKET, capacity, usPerToken, 1).then(
        (reply) => (reply[3] === 0 ? 'allowed' : 'denied'),
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
