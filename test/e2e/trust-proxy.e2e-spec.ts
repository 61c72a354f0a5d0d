import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AppModule } from '../../sample-app/src/app.module.js';
import { ADAPTERS, type RunningApp, startApp } from '../support/app-factory.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

/** Six requests to the per-IP public route (capacity 5), each claiming a different client. */
async function sixSpoofedRequests(app: RunningApp): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 1; i <= 6; i++) {
    const response = await request(app.url).get('/public').set('X-Forwarded-For', `203.0.113.${i}`);
    statuses.push(response.status);
  }
  return statuses;
}

describe.each(ADAPTERS)('keyBy ip on %s', (adapter) => {
  let running: RunningApp | undefined;

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  const module = () =>
    AppModule.register({
      redis: process.env.REDIS_URL!,
      timeoutMs: TEST_TIMEOUT_MS,
      keyPrefix: `e2e:${randomUUID()}:`,
    });

  it('gives a spoofed X-Forwarded-For no fresh bucket when trust proxy is off (the default)', async () => {
    running = await startApp(adapter, module());
    expect(await sixSpoofedRequests(running)).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('uses X-Forwarded-For when the connecting peer is a trusted proxy', async () => {
    running = await startApp(adapter, module(), { trustProxy: '127.0.0.1' });
    expect(await sixSpoofedRequests(running)).toEqual([200, 200, 200, 200, 200, 200]);
  });
});
