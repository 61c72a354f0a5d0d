import { randomUUID } from 'node:crypto';
import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  type INestApplication,
  Injectable,
  Module,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { ApolloDriver } from '@nestjs/apollo';
import { type GqlModuleOptions, GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { WsAdapter } from '@nestjs/platform-ws';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import {
  RateLimit,
  RateLimitInfo,
  type RateLimitDecision,
  RateLimitModule,
  SkipRateLimit,
} from 'nest-redis-rate-limit';
import { lastValueFrom } from 'rxjs';
import request from 'supertest';
import { provideApolloExpressIntegration } from '../support/apollo-express-integration.js';
import {
  ADAPTERS,
  type AdapterName,
  createApp,
  listenApp,
  type RunningApp,
} from '../support/app-factory.js';
import { postGraphQL } from '../support/graphql-client.js';
import { loadMercuriusDriver } from '../support/mercurius-driver.js';
import { type RunningMicroservice, startTcpMicroservice } from '../support/microservice-factory.js';
import { connectSocketIo, connectWs, type GatewayClient } from '../support/ws-clients.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

provideApolloExpressIntegration();
const MercuriusDriver = await loadMercuriusDriver();

/** What a handler saw: the parts of its decision a test compares, or 'none'. */
type Seen = { allowed: boolean; limit: number; remaining: number; source: string; names: string[] };
function seen(decision: RateLimitDecision | undefined): Seen | 'none' {
  if (decision === undefined) return 'none';
  const { allowed, limit, remaining, source, limits } = decision;
  return { allowed, limit, remaining, source, names: limits.map((entry) => entry.name) };
}

/** `<limit>:<remaining>` of the decision, or 'none': one string for a GraphQL field. */
function short(decision: RateLimitDecision | undefined): string {
  return decision === undefined ? 'none' : `${decision.limit}:${decision.remaining}`;
}

const THREE = { capacity: 3, refill: '3/min' } as const;

type AuthRequest = { headers: Record<string, string | undefined>; user?: { id: string } };

/** Attaches `x-user` as the user: a controller guard, so it runs after the global RateLimitGuard. */
@Injectable()
class HeaderAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthRequest>();
    const id = req.headers['x-user'];
    if (id !== undefined) req.user = { id };
    return true;
  }
}

@Controller('info')
class InfoController {
  @RateLimit([
    { name: 'burst', ...THREE },
    { name: 'hourly', capacity: 10, refill: '10/h' },
  ])
  @Get('limited')
  limited(@RateLimitInfo() info: RateLimitDecision | undefined) {
    return seen(info);
  }

  @Get('unlimited')
  unlimited(@RateLimitInfo() info: RateLimitDecision | undefined) {
    return seen(info);
  }

  @RateLimit({ ...THREE, when: () => false })
  @Get('not-applied')
  notApplied(@RateLimitInfo() info: RateLimitDecision | undefined) {
    return seen(info);
  }

  /** Decided by RateLimitInterceptor, after HeaderAuthGuard attached the user. */
  @RateLimit({ ...THREE, keyBy: 'user' })
  @UseGuards(HeaderAuthGuard)
  @Get('user')
  user(@RateLimitInfo() info: RateLimitDecision | undefined) {
    return seen(info);
  }
}

describe.each(ADAPTERS)('@RateLimitInfo on HTTP routes (%s)', (adapter: AdapterName) => {
  let running: RunningApp | undefined;

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function start(): Promise<string> {
    @Module({
      imports: [
        RateLimitModule.forRoot({
          redis: process.env.REDIS_URL!,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix: `e2e:${randomUUID()}:`,
        }),
      ],
      controllers: [InfoController],
    })
    class InfoModule {}
    running = await listenApp(await createApp(adapter, { module: InfoModule }));
    return running.url;
  }

  it("gives the handler this request's decision: the headline limit and every limit", async () => {
    const url = await start();
    const first = await request(url).get('/info/limited');
    const second = await request(url).get('/info/limited');
    expect(first.body).toEqual({
      allowed: true,
      limit: 3,
      remaining: 2,
      source: 'redis',
      names: ['burst', 'hourly'],
    });
    expect(second.body).toMatchObject({ limit: 3, remaining: 1 });
  });

  it('gives undefined where no limit applied: no @RateLimit, or every when false', async () => {
    const url = await start();
    expect((await request(url).get('/info/unlimited')).text).toBe('none');
    expect((await request(url).get('/info/not-applied')).text).toBe('none');
  });

  it('gives the decision the interceptor made for a limit keyed by a user attached later', async () => {
    const url = await start();
    const alice = await request(url).get('/info/user').set('x-user', 'alice');
    const bob = await request(url).get('/info/user').set('x-user', 'bob');
    const aliceAgain = await request(url).get('/info/user').set('x-user', 'alice');
    expect([alice.body, bob.body, aliceAgain.body].map((body: Seen) => body.remaining)).toEqual([
      2, 2, 1,
    ]);
  });
});

@Resolver()
class InfoResolver {
  @RateLimit(THREE)
  @Query(() => String)
  small(@RateLimitInfo() info: RateLimitDecision | undefined): string {
    return short(info);
  }

  @RateLimit({ capacity: 5, refill: '5/min' })
  @Query(() => String)
  large(@RateLimitInfo() info: RateLimitDecision | undefined): string {
    return short(info);
  }

  @SkipRateLimit()
  @Query(() => String)
  skipped(@RateLimitInfo() info: RateLimitDecision | undefined): string {
    return short(info);
  }
}

const GRAPHQL_SERVERS: [string, AdapterName, Type][] = [
  ['Apollo on Express', 'express', ApolloDriver],
  ['Mercurius on Fastify', 'fastify', MercuriusDriver],
];

describe.each(GRAPHQL_SERVERS)(
  '@RateLimitInfo in GraphQL resolvers (%s)',
  (_name, adapter, driver) => {
    let running: RunningApp | undefined;

    afterEach(async () => {
      await running?.close();
      running = undefined;
    });

    it('gives each resolver of one operation its own decision, undefined where skipped', async () => {
      @Module({
        imports: [
          RateLimitModule.forRoot({
            redis: process.env.REDIS_URL!,
            timeoutMs: TEST_TIMEOUT_MS,
            keyPrefix: `e2e:${randomUUID()}:`,
            defaultLimit: { capacity: 1, refill: '1/min' },
          }),
          GraphQLModule.forRoot<GqlModuleOptions>({ driver, autoSchemaFile: true }),
        ],
        providers: [InfoResolver],
      })
      class GraphQLInfoModule {}
      running = await listenApp(await createApp(adapter, { module: GraphQLInfoModule }));
      const first = await postGraphQL(running.url, '{ small large skipped }');
      const second = await postGraphQL(running.url, '{ small large skipped }');
      expect(first.errors).toBeUndefined();
      expect(first.data).toEqual({ small: '3:2', large: '5:4', skipped: 'none' });
      expect(second.data).toEqual({ small: '3:1', large: '5:3', skipped: 'none' });
    });
  },
);

@WebSocketGateway()
class SocketIoInfoGateway {
  @RateLimit(THREE)
  @SubscribeMessage('info')
  info(@RateLimitInfo() info: RateLimitDecision | undefined): string {
    return short(info);
  }

  @SubscribeMessage('unlimited')
  unlimited(@RateLimitInfo() info: RateLimitDecision | undefined): string {
    return short(info);
  }
}

@WebSocketGateway({ path: '/ws' })
class WsInfoGateway {
  @RateLimit(THREE)
  @SubscribeMessage('info')
  info(@RateLimitInfo() info: RateLimitDecision | undefined): { event: string; data: string } {
    return { event: 'info', data: short(info) };
  }

  @SubscribeMessage('unlimited')
  unlimited(@RateLimitInfo() info: RateLimitDecision | undefined): {
    event: string;
    data: string;
  } {
    return { event: 'unlimited', data: short(info) };
  }
}

const GATEWAYS: [string, Type, (app: INestApplication) => void, typeof connectSocketIo][] = [
  ['@nestjs/platform-socket.io', SocketIoInfoGateway, () => {}, connectSocketIo],
  [
    '@nestjs/platform-ws',
    WsInfoGateway,
    (app) => app.useWebSocketAdapter(new WsAdapter(app)),
    (url, options) => connectWs(url, '/ws', options),
  ],
];

describe.each(GATEWAYS)(
  '@RateLimitInfo in WebSocket gateways (%s)',
  (_name, gateway, setUp, connect) => {
    let running: RunningApp | undefined;
    let client: GatewayClient | undefined;

    afterEach(async () => {
      client?.close();
      await running?.close();
      running = undefined;
    });

    it("gives each message's handler its decision, undefined where unlimited", async () => {
      @Module({
        imports: [
          RateLimitModule.forRoot({
            redis: process.env.REDIS_URL!,
            timeoutMs: TEST_TIMEOUT_MS,
            keyPrefix: `e2e:${randomUUID()}:`,
          }),
        ],
        providers: [gateway],
      })
      class GatewayInfoModule {}
      const app = await createApp('express', { module: GatewayInfoModule });
      setUp(app);
      running = await listenApp(app);
      client = await connect(running.url);
      const replies = [];
      for (const event of ['info', 'info', 'unlimited']) replies.push(await client.call(event));
      expect(replies).toEqual([
        { kind: 'reply', data: '3:2' },
        { kind: 'reply', data: '3:1' },
        { kind: 'reply', data: 'none' },
      ]);
    });
  },
);

@Controller()
class RpcInfoController {
  @RateLimit(THREE)
  @MessagePattern('info')
  info(@Payload() _data: unknown, @RateLimitInfo() info: RateLimitDecision | undefined): string {
    return short(info);
  }

  @MessagePattern('unlimited')
  unlimited(@RateLimitInfo() info: RateLimitDecision | undefined): string {
    return short(info);
  }
}

describe('@RateLimitInfo in microservice handlers (TCP)', () => {
  let running: RunningMicroservice | undefined;

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it("gives each message's handler its decision, undefined where unlimited", async () => {
    @Module({
      imports: [
        RateLimitModule.forRoot({
          redis: process.env.REDIS_URL!,
          timeoutMs: TEST_TIMEOUT_MS,
          keyPrefix: `e2e:${randomUUID()}:`,
        }),
      ],
      controllers: [RpcInfoController],
    })
    class RpcInfoModule {}
    running = await startTcpMicroservice(RpcInfoModule);
    const send = (pattern: string) => lastValueFrom(running!.client.send<string>(pattern, {}));
    // Concurrent messages: each handler still gets its own call's decision.
    const answers = await Promise.all([send('info'), send('info')]);
    expect(answers.sort()).toEqual(['3:1', '3:2']);
    await expect(send('unlimited')).resolves.toBe('none');
  });
});
