import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { RateLimitStore } from 'nest-redis-rate-limit';
import { AppModule } from '../../sample-app/src/app.module.js';
import { ADAPTERS, type RunningApp, startApp } from '../support/app-factory.js';
import { freePort, type RedisServerProcess, startRedisServer } from '../support/redis-process.mjs';

const LOGIN = { username: 'demo', password: 'demo' };

/** Polls (bounded) until the module's client reports the wanted state. */
async function waitForStatus(app: RunningApp, ready: boolean): Promise<void> {
  // The Redis store, bare or wrapped (circuit breaker), exposes its client.
  const { client } = app.app.get<{ client?: { status: string } }>(RateLimitStore);
  if (client === undefined) throw new Error('the store has no Redis client');
  for (let i = 0; i < 150; i++) {
    if ((client.status === 'ready') === ready) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`client status stayed ${client.status}`);
}

describe.each(ADAPTERS)('sample app on %s when Redis is down', (adapter) => {
  let server: RedisServerProcess | undefined;
  let running: RunningApp | undefined;

  afterEach(async () => {
    await running?.close();
    await server?.stop();
    running = undefined;
    server = undefined;
  });

  async function start(url: string): Promise<RunningApp> {
    running = await startApp(
      adapter,
      AppModule.register({ redis: url, keyPrefix: `e2e:${randomUUID()}:` }),
    );
    return running;
  }

  it('answers 503 with Retry-After: 1 on the fail-closed login, lets the fail-open route pass, and recovers when Redis returns', async () => {
    server = await startRedisServer();
    const { port } = server;
    const app = await start(server.url);
    await waitForStatus(app, true);
    const before = await request(app.url).post('/auth/login').send(LOGIN).expect(200);
    expect(before.headers['ratelimit']).toBe('"default";r=2;t=20');

    await server.stop();
    await waitForStatus(app, false);
    const closed = await request(app.url).post('/auth/login').send(LOGIN).expect(503);
    expect(closed.headers['retry-after']).toBe('1');
    expect(closed.body).toEqual({
      statusCode: 503,
      message: 'Service Unavailable',
      retryAfter: 1,
    });
    const open = await request(app.url).get('/public').expect(200);
    // No decision was made, so there are no numbers to report.
    expect(open.headers['ratelimit']).toBeUndefined();

    server = await startRedisServer({ port });
    await waitForStatus(app, true);
    // A fresh server: the bucket starts full, and the decision comes from Redis again.
    const after = await request(app.url).post('/auth/login').send(LOGIN).expect(200);
    expect(after.headers['ratelimit']).toBe('"default";r=2;t=20');
  });

  it('starts while Redis is unreachable and follows each route’s failure strategy', async () => {
    const app = await start(`redis://127.0.0.1:${await freePort()}`);
    const closed = await request(app.url).post('/auth/login').send(LOGIN).expect(503);
    expect(closed.headers['retry-after']).toBe('1');
    await request(app.url).get('/public').expect(200);
    await request(app.url).get('/health').expect(200);
  });

  it('answers the fail-closed login within the timeout when Redis is paused (SIGSTOP)', async () => {
    server = await startRedisServer();
    const app = await start(server.url);
    await waitForStatus(app, true);
    await request(app.url).post('/auth/login').send(LOGIN).expect(200);

    process.kill(server.pid, 'SIGSTOP');
    try {
      const startedMs = performance.now();
      await request(app.url).post('/auth/login').send(LOGIN).expect(503);
      const publicResponse = request(app.url).get('/public').expect(200);
      await publicResponse;
      const elapsedMs = performance.now() - startedMs;
      // Two decisions, each bounded by timeoutMs (100 ms); generous slack for a busy machine.
      expect(elapsedMs).toBeGreaterThanOrEqual(180);
      expect(elapsedMs).toBeLessThan(2000);
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
  });
});
