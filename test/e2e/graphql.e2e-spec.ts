import { randomUUID } from 'node:crypto';
import { Module, type Type } from '@nestjs/common';
import { ApolloDriver } from '@nestjs/apollo';
import { CaptureLogger } from '../support/capture-logger.js';
import {
  Field,
  type GqlModuleOptions,
  GraphQLModule,
  ID,
  Int,
  Mutation,
  ObjectType,
  Parent,
  Query,
  ResolveField,
  Resolver,
} from '@nestjs/graphql';
import {
  ConcurrencyLimit,
  RateLimit,
  RateLimitModule,
  type RateLimitModuleOptions,
} from 'nest-redis-rate-limit';
import { Gate } from '../support/gate.js';
import { provideApolloExpressIntegration } from '../support/apollo-express-integration.js';
import {
  type AdapterName,
  createApp,
  listenApp,
  type RunningApp,
  type StartOptions,
} from '../support/app-factory.js';
import { type GraphQLAnswer, postGraphQL } from '../support/graphql-client.js';
import { loadMercuriusDriver } from '../support/mercurius-driver.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

provideApolloExpressIntegration();
const MercuriusDriver = await loadMercuriusDriver();

/** How often each resolver ran in the current test. */
const calls = new Map<string, number>();
function count(resolver: string): number {
  const n = (calls.get(resolver) ?? 0) + 1;
  calls.set(resolver, n);
  return n;
}

@ObjectType()
class Book {
  @Field(() => ID)
  id!: string;
}

@Resolver()
class RootResolver {
  @RateLimit({ capacity: 2, refill: '1/min' })
  @Query(() => String, { nullable: true })
  greeting(): string {
    count('greeting');
    return 'hello';
  }

  @RateLimit({ capacity: 2, refill: '1/min' })
  @Mutation(() => Int, { nullable: true })
  addVote(): number {
    return count('addVote');
  }

  @RateLimit({ capacity: 2, refill: '1/min', keyBy: 'apiKey' })
  @Query(() => String, { nullable: true })
  quote(): string {
    count('quote');
    return 'carpe diem';
  }

  @RateLimit({ capacity: 3, refill: '1/min', scope: 'search' })
  @Query(() => String, { nullable: true })
  searchBooks(): string {
    count('search');
    return 'books';
  }

  @RateLimit({ capacity: 3, refill: '1/min', scope: 'search' })
  @Query(() => String, { nullable: true })
  searchAuthors(): string {
    count('search');
    return 'authors';
  }
}

const gate = new Gate();

@Resolver()
class ReportResolver {
  /** One report in flight per client: the slot is held until the resolver ends. */
  @ConcurrencyLimit({ max: 1 })
  @Query(() => String, { nullable: true })
  async report(): Promise<string> {
    await gate.pass();
    return 'built';
  }
}

/** The class limit covers the `books` query, never the field resolvers of the class. */
@RateLimit({ capacity: 2, refill: '1/min' })
@Resolver(() => Book)
class BookResolver {
  @Query(() => [Book], { nullable: true })
  books(): Book[] {
    count('books');
    return [{ id: '1' }, { id: '2' }, { id: '3' }];
  }

  @ResolveField(() => String)
  title(@Parent() book: Book): string {
    count('title');
    return `Book ${book.id}`;
  }

  @RateLimit({ capacity: 4, refill: '1/min' })
  @ResolveField(() => Int, { nullable: true })
  price(@Parent() book: Book): number {
    count('price');
    return Number(book.id) * 10;
  }

  /** Cannot be enforced here: every resolution is an error naming it, never a silent pass. */
  @ConcurrencyLimit({ max: 1 })
  @ResolveField(() => String, { nullable: true })
  summary(): string {
    count('summary');
    return 'a summary';
  }
}

const SERVERS: [string, AdapterName, Type][] = [
  ['Apollo on Express', 'express', ApolloDriver],
  ['Mercurius on Fastify', 'fastify', MercuriusDriver],
];

/** Whether the answer has `field` with data, or the rate-limit error at it; else the answer. */
function outcome(answer: GraphQLAnswer, field: string): string {
  const errors = (answer.errors ?? []).filter((error) => error.path?.[0] === field);
  if (errors.length === 0 && answer.data?.[field] != null) return 'data';
  if (
    errors.length === 1 &&
    errors[0]!.extensions?.['code'] === 'TOO_MANY_REQUESTS' &&
    answer.data?.[field] === null
  ) {
    return 'TOO_MANY_REQUESTS';
  }
  return JSON.stringify({ data: answer.data, errors: answer.errors });
}

/** The retryAfter of the answer's one error, checked to be whole seconds, at least 1. */
function retryAfterOf(answer: GraphQLAnswer): number {
  expect(answer.errors).toHaveLength(1);
  const retryAfter = answer.errors![0]!.extensions?.['retryAfter'];
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  return retryAfter as number;
}

describe.each(SERVERS)('GraphQL on %s', (_server, adapter, driver) => {
  let running: RunningApp | undefined;

  beforeEach(() => {
    calls.clear();
  });

  afterEach(async () => {
    gate.open();
    await running?.close();
    running = undefined;
  });

  /**
   * The app uses the plain global guard of RateLimitModule.forRoot and the driver's default
   * context. `fieldResolverEnhancers: ['guards']` is how Nest lets guards see field resolvers.
   */
  async function start(
    options: RateLimitModuleOptions = {},
    startOptions: StartOptions = {},
  ): Promise<(query: string, headers?: Record<string, string>) => Promise<GraphQLAnswer>> {
    @Module({
      imports: [
        RateLimitModule.forRoot({
          redis: process.env.REDIS_URL!,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix: `e2e:${randomUUID()}:`,
          ...options,
        }),
        GraphQLModule.forRoot<GqlModuleOptions>({
          driver,
          autoSchemaFile: true,
          fieldResolverEnhancers: ['guards'],
        }),
      ],
      providers: [RootResolver, BookResolver, ReportResolver],
    })
    class GraphQLAppModule {}
    running = await listenApp(await createApp(adapter, { module: GraphQLAppModule }, startOptions));
    const url = running.url;
    return (query, headers) => postGraphQL(url, query, headers);
  }

  it('@ConcurrencyLimit: a second query while one runs gets TOO_MANY_REQUESTS (retryAfter 1); the slot frees when the resolver ends', async () => {
    void gate.reset();
    const gql = await start();
    const first = gql('{ report }');
    await gate.untilEntered(1);
    const refused = await gql('{ report }');
    expect(outcome(refused, 'report')).toBe('TOO_MANY_REQUESTS');
    expect(refused.errors![0]!.extensions?.['retryAfter']).toBe(1);
    expect(gate.entered).toBe(1);
    gate.open();
    expect((await first).data).toEqual({ report: 'built' });
    expect((await gql('{ report }')).data).toEqual({ report: 'built' });
  });

  it('@ConcurrencyLimit on a field resolver is an error naming it, never a pass', async () => {
    const gql = await start();
    const answer = await gql('{ books { id summary } }');
    expect(calls.get('summary')).toBeUndefined();
    expect(answer.errors?.[0]?.message).toMatch(
      /^@ConcurrencyLimit on BookResolver\.summary: a GraphQL field resolver runs once per parent item/,
    );
  });

  it('answers a limited query twice, then with a TOO_MANY_REQUESTS error without running the resolver', async () => {
    const gql = await start();
    const first = await gql('{ greeting }');
    const second = await gql('{ greeting }');
    const denied = await gql('{ greeting }');
    expect([first, second].map((answer) => answer.data)).toEqual([
      { greeting: 'hello' },
      { greeting: 'hello' },
    ]);
    expect(outcome(denied, 'greeting')).toBe('TOO_MANY_REQUESTS');
    expect(denied.errors![0]!.path).toEqual(['greeting']);
    const retryAfter = retryAfterOf(denied);
    expect(calls.get('greeting')).toBe(2);

    expect(first.headers.get('ratelimit-policy')).toBe('"default";q=2;w=120');
    expect(first.headers.get('ratelimit')).toBe('"default";r=1;t=60');
    expect(first.headers.get('retry-after')).toBeNull();
    expect(second.headers.get('ratelimit')).toBe('"default";r=0;t=120');
    expect(denied.headers.get('ratelimit-policy')).toBe('"default";q=2;w=120');
    expect(denied.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
    expect(denied.headers.get('retry-after')).toBe(String(retryAfter));
  });

  it('a denial is an expected answer: Nest logs no error or stack trace for it', async () => {
    const gql = await start();
    const logger = new CaptureLogger();
    running!.app.useLogger(logger);
    for (let i = 0; i < 3; i++) await gql('{ greeting }');
    expect(calls.get('greeting')).toBe(2);
    expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('limits a mutation the same way', async () => {
    const gql = await start();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await gql('mutation { addVote }'));
    expect(answers.slice(0, 2).map((answer) => answer.data)).toEqual([
      { addVote: 1 },
      { addVote: 2 },
    ]);
    expect(outcome(answers[2]!, 'addVote')).toBe('TOO_MANY_REQUESTS');
    const retryAfter = retryAfterOf(answers[2]!);
    expect(calls.get('addVote')).toBe(2);
    expect(answers[0]!.headers.get('ratelimit')).toBe('"default";r=1;t=60');
    expect(answers[2]!.headers.get('retry-after')).toBe(String(retryAfter));
  });

  it("keys by the HTTP request's x-api-key: another key has its own bucket", async () => {
    const gql = await start();
    const asKey = async (key: string) =>
      outcome(await gql('{ quote }', { 'x-api-key': key }), 'quote');
    const outcomes = [];
    for (const key of ['key-a', 'key-a', 'key-a', 'key-b', 'key-b', 'key-b']) {
      outcomes.push(await asKey(key));
    }
    expect(outcomes).toEqual([
      'data',
      'data',
      'TOO_MANY_REQUESTS',
      'data',
      'data',
      'TOO_MANY_REQUESTS',
    ]);
    expect(calls.get('quote')).toBe(4);
  });

  it('keys by the forwarded client address behind a trusted proxy, as routes do', async () => {
    const gql = await start({}, { trustProxy: '127.0.0.1' });
    const from = async (ip: string) =>
      outcome(await gql('{ greeting }', { 'x-forwarded-for': ip }), 'greeting');
    const outcomes = [];
    for (const ip of ['203.0.113.1', '203.0.113.1', '203.0.113.1', '203.0.113.2']) {
      outcomes.push(await from(ip));
    }
    expect(outcomes).toEqual(['data', 'data', 'TOO_MANY_REQUESTS', 'data']);
  });

  it('charges a decorated field resolver once per resolution and denies the ones beyond', async () => {
    const gql = await start();
    const first = await gql('{ books { id price } }');
    expect(first.errors).toBeUndefined();
    expect(first.data).toEqual({
      books: [
        { id: '1', price: 10 },
        { id: '2', price: 20 },
        { id: '3', price: 30 },
      ],
    });
    // One token left for three prices: one resolves, two are denied (in whichever order).
    const second = await gql('{ books { id price } }');
    const books = (second.data?.['books'] ?? []) as { price: number | null }[];
    expect(books).toHaveLength(3);
    expect(books.filter((book) => book.price === null)).toHaveLength(2);
    expect(second.errors).toHaveLength(2);
    for (const error of second.errors ?? []) {
      // Mercurius gives the list index as a string ("1"), Apollo as a number.
      expect(error.path?.map(String)).toEqual(['books', expect.stringMatching(/^[0-2]$/), 'price']);
      expect(error.extensions?.['code']).toBe('TOO_MANY_REQUESTS');
    }
    expect(calls.get('price')).toBe(4);
    expect(calls.get('books')).toBe(2);
  });

  it('never limits a field resolver without its own @RateLimit, despite the class limit and defaultLimit', async () => {
    const gql = await start({ defaultLimit: { capacity: 1, refill: '1/min' } });
    const titles = { books: [{ title: 'Book 1' }, { title: 'Book 2' }, { title: 'Book 3' }] };
    const first = await gql('{ books { title } }');
    const second = await gql('{ books { title } }');
    expect([first, second].map((answer) => [answer.data, answer.errors])).toEqual([
      [titles, undefined],
      [titles, undefined],
    ]);
    // The class limit (capacity 2) does apply to the books query itself.
    const third = await gql('{ books { title } }');
    expect(outcome(third, 'books')).toBe('TOO_MANY_REQUESTS');
    expect(calls.get('title')).toBe(6);
    expect(calls.get('books')).toBe(2);
  });

  it('charges each decorated root field a query selects', async () => {
    const gql = await start();
    const first = await gql('{ searchBooks searchAuthors }');
    expect(first.data).toEqual({ searchBooks: 'books', searchAuthors: 'authors' });
    expect(first.errors).toBeUndefined();
    // The shared 'search' bucket (capacity 3) has one token left for two fields.
    const second = await gql('{ searchBooks searchAuthors }');
    expect([outcome(second, 'searchBooks'), outcome(second, 'searchAuthors')].sort()).toEqual([
      'TOO_MANY_REQUESTS',
      'data',
    ]);
    expect(calls.get('search')).toBe(3);
  });
});
