import { randomUUID } from 'node:crypto';
import request, { type Response } from 'supertest';
import { RateLimitService } from 'nest-redis-rate-limit';
import { AppModule, type SampleAppSettings } from '../../sample-app/src/app.module.js';
import { SEARCH_LIMITS } from '../../sample-app/src/search/search-limits.js';
import { ADAPTERS, type AdapterName, type RunningApp, startApp } from '../support/app-factory.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

type StoreName = 'redis' | 'memory';
const CASES: [AdapterName, StoreName][] = ADAPTERS.flatMap((adapter) =>
  (['redis', 'memory'] as const).map((store): [AdapterName, StoreName] => [adapter, store]),
);

/** `"name";r=<n>;t=<n>` items of a RateLimit header, by name. */
function rateLimitItems(response: Response): Map<string, { r: number; t: number }> {
  const header = response.headers['ratelimit'];
  expect(typeof header).toBe('string');
  const items = new Map<string, { r: number; t: number }>();
  for (const item of (header as string).split(', ')) {
    const match = /^"([^"]+)";r=(\d+);t=(\d+)$/.exec(item);
    if (match === null) throw new Error(`malformed RateLimit item: ${item}`);
    items.set(match[1]!, { r: Number(match[2]), t: Number(match[3]) });
  }
  return items;
}

const DAY_MS = 86_400_000;

/**
 * Expects `seconds` to count down to the next midnight UTC, where the sample app's daily window
 * (a fixed window of one day, aligned to the store's clock) ends: within 2 s of this process's
 * clock, the same machine's as Redis's. Compared around the day's circle, so that an answer given
 * just before midnight and checked just after (1 s against 86,400 s) still matches.
 */
function expectUntilMidnightUtc(seconds: number): void {
  const expected = Math.ceil((DAY_MS - (Date.now() % DAY_MS)) / 1000);
  const apart = Math.abs(seconds - expected) % (DAY_MS / 1000);
  expect(Math.min(apart, DAY_MS / 1000 - apart)).toBeLessThanOrEqual(2);
}

function item(response: Response, name: string): { r: number; t: number } {
  const found = rateLimitItems(response).get(name);
  if (found === undefined)
    throw new Error(`no "${name}" in RateLimit: ${response.headers['ratelimit']}`);
  return found;
}

describe.each(CASES)('sample app on %s with the %s store', (adapter, store) => {
  let running: RunningApp;
  let http: () => ReturnType<typeof request>;

  beforeEach(async () => {
    const settings: SampleAppSettings = {
      keyPrefix: `e2e:${randomUUID()}:`,
      timeoutMs: TEST_TIMEOUT_MS,
    };
    if (store === 'redis') settings.redis = process.env.REDIS_URL!;
    running = await startApp(adapter, AppModule.register(settings));
    http = () => request(running.url);
  });

  afterEach(async () => {
    await running.close();
  });

  it('sends RateLimit-Policy and RateLimit in the draft-10 format on an allowed request', async () => {
    const response = await http().get('/public').expect(200);
    expect(response.headers['ratelimit-policy']).toBe('"default";q=5;w=60');
    // One token of 5/min is 12 s, so the bucket is full again in exactly 12 s.
    expect(response.headers['ratelimit']).toBe('"default";r=4;t=12');
    expect(response.headers['retry-after']).toBeUndefined();
  });

  it('denies the 6th request with 429, Retry-After in whole seconds and the JSON body', async () => {
    for (let i = 4; i >= 0; i--) {
      const allowed = await http().get('/public').expect(200);
      expect(item(allowed, 'default').r).toBe(i);
    }
    const denied = await http().get('/public').expect(429);
    const retryAfter = Number(denied.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(12);
    expect(denied.body).toEqual({ statusCode: 429, message: 'Too Many Requests', retryAfter });
    expect(denied.headers['ratelimit-policy']).toBe('"default";q=5;w=60');
    expect(item(denied, 'default').r).toBe(0);
  });

  it('sends no rate-limit headers on the @SkipRateLimit health route, however often it is called', async () => {
    for (let i = 0; i < 8; i++) {
      const response = await http().get('/health').expect(200);
      expect(response.body).toEqual({ status: 'ok' });
      expect(response.headers['ratelimit']).toBeUndefined();
      expect(response.headers['ratelimit-policy']).toBeUndefined();
    }
  });

  it('limits a Free key to 5 requests while a Pro key gets its own, larger bucket', async () => {
    for (let i = 0; i < 5; i++) {
      await http().get('/api/quote').set('x-api-key', 'free-key-1').expect(200);
    }
    const denied = await http().get('/api/quote').set('x-api-key', 'free-key-1').expect(429);
    expect(denied.headers['ratelimit-policy']).toBe('"free";q=5;w=60');

    const pro = await http().get('/api/quote').set('x-api-key', 'pro-key-1').expect(200);
    expect(pro.headers['ratelimit-policy']).toBe('"pro";q=100;w=60');
    expect(pro.headers['ratelimit']).toBe('"pro";r=99;t=1');
    // Another Free key has its own bucket: the limit is per key, not per IP.
    await http().get('/api/quote').set('x-api-key', 'free-key-2').expect(200);
  });

  it('answers 401 to a missing or unknown key, still limited per IP', async () => {
    const missing = await http().get('/api/quote').expect(401);
    expect(missing.headers['ratelimit-policy']).toBe('"no-key";q=10;w=60');
    const unknown = await http().get('/api/quote').set('x-api-key', 'guess').expect(401);
    expect(item(unknown, 'no-key').r).toBe(8);
  });

  it('reports both limits of the search route and draws from one scope across its two routes', async () => {
    const search = await http().get('/search?q=a').expect(200);
    expect(search.headers['ratelimit-policy']).toBe('"burst";q=10;w=2, "daily";q=1000;w=86400');
    expect([...rateLimitItems(search).keys()]).toEqual(['burst', 'daily']);
    expect(item(search, 'daily').r).toBe(999);
    expectUntilMidnightUtc(item(search, 'daily').t);

    const suggest = await http().get('/search/suggest?q=a').expect(200);
    expect(suggest.headers['ratelimit-policy']).toBe('"burst";q=10;w=2, "daily";q=1000;w=86400');
    // The second route saw the first route's request: one scope, one daily window.
    expect(item(suggest, 'daily').r).toBe(998);
    expectUntilMidnightUtc(item(suggest, 'daily').t);
    expect(item(suggest, 'burst').r).toBeGreaterThanOrEqual(7);
    expect(item(suggest, 'burst').r).toBeLessThanOrEqual(9);
  });

  it('denies the search routes once the shared burst bucket is empty, with the daily quota left', async () => {
    let allowed = 0;
    let denied: Response | undefined;
    // Refill is 5/s, so a slow machine may pass a few more than 10; the bound keeps the loop finite.
    for (let i = 0; i < 60 && denied === undefined; i++) {
      const path = i % 2 === 0 ? '/search' : '/search/suggest';
      const response = await http().get(path);
      if (response.status === 429) denied = response;
      else allowed++;
    }
    expect(denied).toBeDefined();
    expect(allowed).toBeGreaterThanOrEqual(10);
    expect(item(denied!, 'burst').r).toBe(0);
    expect(item(denied!, 'daily').r).toBe(1000 - allowed);
    expect(denied!.headers['retry-after']).toBe('1');
    expect(denied!.body).toEqual({ statusCode: 429, message: 'Too Many Requests', retryAfter: 1 });
  });

  it('denies a search when the daily quota is used up though the burst bucket is full, and takes nothing from it; Retry-After counts down to midnight UTC', async () => {
    // Drain the daily window of this client (the route identity is ip:127.0.0.1) through the service.
    const daily = SEARCH_LIMITS.find((limit) => limit.name === 'daily')!;
    expect(daily.algorithm).toBe('fixed-window');
    const drained = await running.app.get(RateLimitService).consume('ip:127.0.0.1', daily, 1000);
    expect(drained.allowed).toBe(true);

    const denied = await http().get('/search').expect(429);
    expect(item(denied, 'daily').r).toBe(0);
    expect(item(denied, 'burst').r).toBe(10);
    // The window starts over at midnight UTC.
    expectUntilMidnightUtc(Number(denied.headers['retry-after']));
  });
});
