import { randomUUID } from 'node:crypto';
import { RateLimitService } from 'nest-redis-rate-limit';
import { AppModule, type SampleAppSettings } from '../../sample-app/src/app.module.js';
import { type RunningApp, startApp } from '../support/app-factory.js';
import { type GraphQLAnswer, postGraphQL } from '../support/graphql-client.js';
import {
  buildSampleApp,
  type SampleAppBuild,
  type SampleAppProcess,
  startSampleApp,
} from '../support/sample-app-process.mjs';
import { connectSocketIo, type GatewayClient, type GatewayReply } from '../support/ws-clients.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

type StoreName = 'redis' | 'memory';
const STORES: readonly StoreName[] = ['redis', 'memory'];

const QUOTE = '{ quote { text votes } }';
const VOTE = 'mutation { vote(id: 1) { votes } }';

/** The answer's one error, which must be the rate limit's, at `path`: its retryAfter. */
function tooManyRequests(answer: GraphQLAnswer, path: readonly (string | number)[]): number {
  expect(answer.errors).toHaveLength(1);
  const [error] = answer.errors!;
  const retryAfter = error!.extensions?.['retryAfter'];
  expect(error).toEqual({
    message: 'Too Many Requests',
    locations: expect.any(Array) as unknown,
    path,
    extensions: { code: 'TOO_MANY_REQUESTS', retryAfter },
  });
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(answer.headers.get('retry-after')).toBe(String(retryAfter));
  return retryAfter as number;
}

/** The answer's one error, which must be the resolver's refusal of the key. */
function expectUnauthenticated(answer: GraphQLAnswer): void {
  expect(answer.data).toEqual({ vote: null });
  expect(answer.errors?.map((error) => [error.message, error.extensions?.['code']])).toEqual([
    ['Unknown or missing x-api-key', 'UNAUTHENTICATED'],
  ]);
}

/** The exception event of a denied gateway message, as the README shows it. */
function expectEchoDenied(reply: GatewayReply | undefined): void {
  expect(reply?.kind).toBe('exception');
  const retryAfter = (reply?.data as { retryAfter?: unknown } | undefined)?.retryAfter;
  expect(reply?.data).toEqual({
    status: 'error',
    statusCode: 429,
    message: 'Too Many Requests',
    retryAfter,
  });
  // One token every 3⅓ s.
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(4);
}

describe.each(STORES)(
  'sample app GraphQL and socket.io gateway on Express with the %s store',
  (store) => {
    let running: RunningApp;
    const clients: GatewayClient[] = [];

    beforeEach(async () => {
      const settings: SampleAppSettings = {
        keyPrefix: `e2e:${randomUUID()}:`,
        timeoutMs: TEST_TIMEOUT_MS,
      };
      if (store === 'redis') settings.redis = process.env.REDIS_URL!;
      running = await startApp(
        'express',
        AppModule.register(settings, { graphql: true, gateway: true }),
      );
    });

    afterEach(async () => {
      for (const client of clients.splice(0)) client.close();
      await running.close();
    });

    const gql = (query: string, headers?: Record<string, string>) =>
      postGraphQL(running.url, query, headers);

    async function echoClient(): Promise<GatewayClient> {
      const client = await connectSocketIo(`${running.url}/echo`);
      clients.push(client);
      return client;
    }

    it('answers Query.quote 5 times per IP with RateLimit headers, then a TOO_MANY_REQUESTS error with retryAfter and Retry-After', async () => {
      const allowed: GraphQLAnswer[] = [];
      for (let i = 0; i < 5; i++) allowed.push(await gql(QUOTE));
      for (const answer of allowed) {
        expect(answer.status).toBe(200);
        expect(answer.errors).toBeUndefined();
        expect(answer.data).toEqual({
          quote: { text: 'Simplicity is prerequisite for reliability.', votes: 0 },
        });
        expect(answer.headers.get('ratelimit-policy')).toBe('"quote";q=5;w=60');
        expect(answer.headers.get('retry-after')).toBeNull();
      }
      expect(allowed[0]!.headers.get('ratelimit')).toBe('"quote";r=4;t=12');
      expect(allowed[4]!.headers.get('ratelimit')).toMatch(/^"quote";r=0;t=\d+$/);

      const denied = await gql(QUOTE);
      expect(denied.status).toBe(200);
      expect(denied.data).toEqual({ quote: null });
      expect(tooManyRequests(denied, ['quote'])).toBeLessThanOrEqual(12);
      expect(denied.headers.get('ratelimit-policy')).toBe('"quote";q=5;w=60');
      expect(denied.headers.get('ratelimit')).toMatch(/^"quote";r=0;t=\d+$/);
    });

    it('charges the Quote.explanation field resolver once per quote: 2 resolve, the third is null with its own error', async () => {
      const answer = await gql(
        '{ a: quote(id: 1) { author explanation } b: quote(id: 2) { author explanation } c: quote(id: 3) { author explanation } }',
      );
      const quotes = answer.data as Record<string, { author: string; explanation: string | null }>;
      // The quotes themselves resolve (3 of the 5 quote tokens): only the field is denied.
      expect(Object.values(quotes).map((quote) => quote.author)).toEqual([
        'Edsger W. Dijkstra',
        'Donald Knuth',
        'Kent Beck',
      ]);
      const explained = Object.values(quotes).filter((quote) => quote.explanation !== null);
      expect(explained).toHaveLength(2);
      for (const quote of explained) expect(quote.explanation).toMatch(/ words by /);
      const deniedAlias = Object.keys(quotes).find((alias) => quotes[alias]!.explanation === null);
      tooManyRequests(answer, [deniedAlias!, 'explanation']);
      // The headers are those of the limit decided last: the denied field's.
      expect(answer.headers.get('ratelimit-policy')).toBe('"explain";q=2;w=60');
      expect(answer.headers.get('ratelimit')).toMatch(/^"explain";r=0;t=\d+$/);
    });

    it('limits Mutation.vote per known x-api-key: the 4th vote is denied and not counted, another key has its own bucket', async () => {
      const votes: GraphQLAnswer[] = [];
      for (let i = 0; i < 4; i++) votes.push(await gql(VOTE, { 'x-api-key': 'free-key-1' }));
      expect(votes.slice(0, 3).map((answer) => answer.data)).toEqual([
        { vote: { votes: 1 } },
        { vote: { votes: 2 } },
        { vote: { votes: 3 } },
      ]);
      expect(votes[0]!.headers.get('ratelimit-policy')).toBe('"vote";q=3;w=60');
      expect(votes[0]!.headers.get('ratelimit')).toBe('"vote";r=2;t=20');
      expect(votes[3]!.data).toEqual({ vote: null });
      expect(tooManyRequests(votes[3]!, ['vote'])).toBeLessThanOrEqual(20);

      // The denied vote never reached the resolver.
      expect((await gql(QUOTE)).data).toEqual({
        quote: { text: 'Simplicity is prerequisite for reliability.', votes: 3 },
      });
      const otherKey = await gql(VOTE, { 'x-api-key': 'free-key-2' });
      expect(otherKey.data).toEqual({ vote: { votes: 4 } });
      expect(otherKey.headers.get('ratelimit')).toBe('"vote";r=2;t=20');
    });

    it('limits Mutation.vote without a known key per IP, whatever key is tried: 10 UNAUTHENTICATED, then TOO_MANY_REQUESTS', async () => {
      const missing = await gql(VOTE);
      expectUnauthenticated(missing);
      expect(missing.headers.get('ratelimit-policy')).toBe('"no-key";q=10;w=60');
      expect(missing.headers.get('ratelimit')).toBe('"no-key";r=9;t=6');
      for (let i = 1; i < 10; i++)
        expectUnauthenticated(await gql(VOTE, { 'x-api-key': `guess-${i}` }));

      const denied = await gql(VOTE, { 'x-api-key': 'guess-10' });
      expect(denied.data).toEqual({ vote: null });
      tooManyRequests(denied, ['vote']);
      expect(denied.headers.get('ratelimit-policy')).toBe('"no-key";q=10;w=60');
      // A known key is limited by its own bucket, not by the IP's.
      expect((await gql(VOTE, { 'x-api-key': 'pro-key-1' })).data).toEqual({ vote: { votes: 1 } });
    });

    it('echoes 3 socket.io messages per IP, then sends the exception event without running the handler', async () => {
      const client = await echoClient();
      const replies: GatewayReply[] = [];
      for (let i = 1; i <= 4; i++) replies.push(await client.call('echo', `hi ${i}`));
      expect(replies.slice(0, 3)).toEqual([
        { kind: 'reply', data: { echo: 'hi 1', echoed: 1 } },
        { kind: 'reply', data: { echo: 'hi 2', echoed: 2 } },
        { kind: 'reply', data: { echo: 'hi 3', echoed: 3 } },
      ]);
      expectEchoDenied(replies[3]);

      // Per IP, not per connection: a new connection from the same address is denied as well.
      const second = await echoClient();
      expectEchoDenied(await second.call('echo', 'hi 5'));

      // With the bucket refilled, the next echo is the handler's 4th run: the denied ones never ran.
      await running.app.get(RateLimitService).reset('ip:127.0.0.1');
      expect(await second.call('echo', 'hi 6')).toEqual({
        kind: 'reply',
        data: { echo: 'hi 6', echoed: 4 },
      });
    });
  },
);

// main.ts is what `npm start` runs: it must turn GraphQL and the gateway on. The app is compiled
// and spawned as in the multi-instance test (memory store: the child gets no REDIS_URL).
describe('the sample app process (main.ts)', () => {
  let build: SampleAppBuild | undefined;
  let app: SampleAppProcess | undefined;

  beforeAll(async () => {
    build = await buildSampleApp();
    app = await startSampleApp({ entry: build.entry });
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    build?.remove();
  });

  it('serves POST /graphql and the /echo gateway next to its routes, limited', async () => {
    const { url } = app!;
    const first = await postGraphQL(url, QUOTE);
    expect(first.data).toEqual({
      quote: { text: 'Simplicity is prerequisite for reliability.', votes: 0 },
    });
    expect(first.headers.get('ratelimit')).toBe('"quote";r=4;t=12');

    const client = await connectSocketIo(`${url}/echo`);
    try {
      const replies: GatewayReply[] = [];
      for (let i = 1; i <= 4; i++) replies.push(await client.call('echo', i));
      expect(replies.map((reply) => reply.kind)).toEqual(['reply', 'reply', 'reply', 'exception']);
      expectEchoDenied(replies[3]);
    } finally {
      client.close();
    }
    expect(app!.output()).toContain('GraphQL: POST http://localhost:');
  });
});
