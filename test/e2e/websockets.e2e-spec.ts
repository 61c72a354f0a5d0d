import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { type INestApplication, Module, type Type } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { type OnGatewayConnection, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Redis } from 'ioredis';
import { ConcurrencyLimit, RateLimit, RateLimitModule } from 'nest-redis-rate-limit';
import type { Socket } from 'socket.io';
import type WebSocket from 'ws';
import {
  createApp,
  listenApp,
  type RunningApp,
  type StartOptions,
} from '../support/app-factory.js';
import {
  type ConnectOptions,
  connectSocketIo,
  connectWs,
  type GatewayClient,
  type GatewayReply,
} from '../support/ws-clients.js';
import { Gate } from '../support/gate.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

/** Holds `report` handlers in flight until the test opens it. */
const gate = new Gate();

/** How often each handler ran in the current test. */
const calls = new Map<string, number>();
function count(handler: string): number {
  const n = (calls.get(handler) ?? 0) + 1;
  calls.set(handler, n);
  return n;
}

const PER_IP = { capacity: 2, refill: '1/min', keyBy: 'ip' } as const;
const PER_USER = { capacity: 2, refill: '1/min', keyBy: 'user' } as const;

/** Attaches the handshake's `auth.user` as `client.data.user`, as socket.io apps do. */
@WebSocketGateway()
class SocketIoGateway implements OnGatewayConnection {
  handleConnection(client: Socket): void {
    const user: unknown = client.handshake.auth['user'];
    if (typeof user === 'string') (client.data as { user?: { id: string } }).user = { id: user };
  }

  @RateLimit(PER_IP)
  @SubscribeMessage('ping')
  ping(): number {
    return count('ping');
  }

  @RateLimit(PER_USER)
  @SubscribeMessage('whoami')
  whoami(): number {
    return count('whoami');
  }

  @ConcurrencyLimit({ max: 1 })
  @SubscribeMessage('report')
  async report(): Promise<string> {
    await gate.pass();
    return 'built';
  }
}

/** Attaches the `user` query parameter of the upgrade request as `client.user`. */
@WebSocketGateway({ path: '/ws' })
class WsGateway implements OnGatewayConnection {
  handleConnection(client: WebSocket & { user?: { id: string } }, request: IncomingMessage): void {
    const user = new URL(request.url ?? '/', 'http://localhost').searchParams.get('user');
    if (user !== null) client.user = { id: user };
  }

  @RateLimit(PER_IP)
  @SubscribeMessage('ping')
  ping(): { event: string; data: number } {
    return { event: 'pong', data: count('ping') };
  }

  @RateLimit(PER_USER)
  @SubscribeMessage('whoami')
  whoami(): { event: string; data: number } {
    return { event: 'whoami', data: count('whoami') };
  }

  @ConcurrencyLimit({ max: 1 })
  @SubscribeMessage('report')
  async report(): Promise<{ event: string; data: string }> {
    await gate.pass();
    return { event: 'report', data: 'built' };
  }
}

interface Transport {
  readonly gateway: Type;
  readonly setUp: (app: INestApplication) => void;
  readonly connect: (url: string, options?: ConnectOptions) => Promise<GatewayClient>;
}

const TRANSPORTS: [string, Transport][] = [
  [
    '@nestjs/platform-socket.io',
    { gateway: SocketIoGateway, setUp: () => {}, connect: connectSocketIo },
  ],
  [
    '@nestjs/platform-ws',
    {
      gateway: WsGateway,
      setUp: (app) => app.useWebSocketAdapter(new WsAdapter(app)),
      connect: (url, options) => connectWs(url, '/ws', options),
    },
  ],
];

/** `reply <data>` or `exception <statusCode>`, to compare whole sequences. */
function summary(reply: GatewayReply): string {
  if (reply.kind === 'reply') return `reply ${JSON.stringify(reply.data)}`;
  return `exception ${String((reply.data as { statusCode?: unknown } | null)?.statusCode)}`;
}

/** The exception event of a denial, exactly as the issue gives it. */
function expectTooManyRequests(reply: GatewayReply | undefined): void {
  expect(reply?.kind).toBe('exception');
  expect(reply?.data).toMatchObject({
    status: 'error',
    statusCode: 429,
    message: 'Too Many Requests',
  });
  const retryAfter = (reply?.data as { retryAfter?: unknown }).retryAfter;
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

async function callTimes(client: GatewayClient, event: string, times: number) {
  const replies: GatewayReply[] = [];
  for (let i = 0; i < times; i++) replies.push(await client.call(event));
  return replies;
}

describe('websocket gateways', () => {
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
  });

  afterAll(async () => {
    await redis.quit();
  });

  describe.each(TRANSPORTS)('on %s', (_name, transport) => {
    let running: RunningApp | undefined;
    let keyPrefix: string;
    const clients: GatewayClient[] = [];

    beforeEach(() => {
      calls.clear();
      keyPrefix = `e2e:${randomUUID()}:`;
    });

    afterEach(async () => {
      gate.open();
      for (const client of clients.splice(0)) client.close();
      await running?.close();
      running = undefined;
    });

    async function start(startOptions: StartOptions = {}): Promise<string> {
      @Module({
        imports: [
          RateLimitModule.forRoot({
            redis: process.env.REDIS_URL!,
            timeoutMs: TEST_TIMEOUT_MS,
            keyPrefix,
          }),
        ],
        providers: [transport.gateway],
      })
      class GatewayAppModule {}
      const app = await createApp('express', { module: GatewayAppModule }, startOptions);
      transport.setUp(app);
      running = await listenApp(app);
      return running.url;
    }

    async function connect(url: string, options?: ConnectOptions): Promise<GatewayClient> {
      const client = await transport.connect(url, options);
      clients.push(client);
      return client;
    }

    async function keys(): Promise<string[]> {
      return (await redis.keys(`${keyPrefix}*`)).map((key) => key.slice(keyPrefix.length)).sort();
    }

    it('@ConcurrencyLimit: a message while another is in flight gets the 429 exception event, retryAfter 1', async () => {
      void gate.reset();
      const url = await start();
      const [first, second] = [await connect(url), await connect(url)];
      const running = first.call('report');
      await gate.untilEntered(1);
      const [refused] = await callTimes(second, 'report', 1);
      expectTooManyRequests(refused);
      expect((refused?.data as { retryAfter?: unknown }).retryAfter).toBe(1);
      gate.open();
      expect(summary(await running)).toBe('reply "built"');
      expect((await callTimes(second, 'report', 1)).map(summary)).toEqual(['reply "built"']);
      expect(gate.entered).toBe(2);
    });

    it('counts each message as one request: two replies, then the exception event, handler not run', async () => {
      const client = await connect(await start());
      const replies = await callTimes(client, 'ping', 3);
      expect(replies.map(summary)).toEqual(['reply 1', 'reply 2', 'exception 429']);
      expectTooManyRequests(replies[2]);
      expect(calls.get('ping')).toBe(2);
    });

    it("keys 'ip' by the connection's address: a second connection from it shares the bucket", async () => {
      const url = await start();
      const first = await connect(url);
      const second = await connect(url);
      expect((await callTimes(first, 'ping', 2)).map(summary)).toEqual(['reply 1', 'reply 2']);
      const [denied] = await callTimes(second, 'ping', 1);
      expectTooManyRequests(denied);
      expect(await keys()).toEqual([`${transport.gateway.name}.ping:default:{ip:127.0.0.1}`]);
    });

    it("keys 'user' by the user the app attached to the client: two users of one IP have their own buckets", async () => {
      const url = await start();
      const alice = await connect(url, { user: 'alice' });
      const bob = await connect(url, { user: 'bob' });
      expect((await callTimes(alice, 'whoami', 3)).map(summary)).toEqual([
        'reply 1',
        'reply 2',
        'exception 429',
      ]);
      expect((await callTimes(bob, 'whoami', 3)).map(summary)).toEqual([
        'reply 3',
        'reply 4',
        'exception 429',
      ]);
      expect(calls.get('whoami')).toBe(4);
      expect(await keys()).toEqual([
        `${transport.gateway.name}.whoami:default:{user:alice}`,
        `${transport.gateway.name}.whoami:default:{user:bob}`,
      ]);
    });
  });

  // The ws client object does not keep its upgrade request, so only socket.io (client.request,
  // client.handshake) can show the forwarded address; see the report.
  describe('on @nestjs/platform-socket.io behind a proxy', () => {
    let running: RunningApp | undefined;
    const clients: GatewayClient[] = [];

    afterEach(async () => {
      gate.open();
      for (const client of clients.splice(0)) client.close();
      await running?.close();
      running = undefined;
    });

    async function start(startOptions: StartOptions): Promise<string> {
      @Module({
        imports: [
          RateLimitModule.forRoot({
            redis: process.env.REDIS_URL!,
            timeoutMs: TEST_TIMEOUT_MS,
            keyPrefix: `e2e:${randomUUID()}:`,
          }),
        ],
        providers: [SocketIoGateway],
      })
      class GatewayAppModule {}
      running = await listenApp(
        await createApp('express', { module: GatewayAppModule }, startOptions),
      );
      return running.url;
    }

    async function pingsFrom(url: string, forwardedFor: string, times: number): Promise<string[]> {
      const client = await connectSocketIo(url, { headers: { 'x-forwarded-for': forwardedFor } });
      clients.push(client);
      return (await callTimes(client, 'ping', times)).map((reply) => reply.kind);
    }

    it('keys by X-Forwarded-For when the connecting peer is a trusted proxy', async () => {
      const url = await start({ trustProxy: '127.0.0.1' });
      expect(await pingsFrom(url, '203.0.113.1', 3)).toEqual(['reply', 'reply', 'exception']);
      expect(await pingsFrom(url, '203.0.113.2', 1)).toEqual(['reply']);
    });

    it('ignores a spoofed X-Forwarded-For when trust proxy is off', async () => {
      const url = await start({});
      expect(await pingsFrom(url, '203.0.113.1', 2)).toEqual(['reply', 'reply']);
      expect(await pingsFrom(url, '203.0.113.2', 1)).toEqual(['exception']);
    });
  });
});
