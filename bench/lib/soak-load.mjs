// Paced HTTP load for the soak: `rate` requests a second, at most `concurrency` in flight, over
// many cold identities and a few hot ones, alternating two routes of the sample app:
// GET /search by client IP (X-Forwarded-For, the app trusting loopback) and POST /events by
// x-api-key. Every request is recorded: when it was sent, how long it took, what came back.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const BODY = JSON.stringify([{ type: 'soak' }]);
const CLIENT_TIMEOUT_MS = 5_000;
export const HOT_IDENTITIES = 4;
/** Share of requests that go to the hot identities: those are mostly denied. */
export const HOT_SHARE = 0.2;

/** The identity of request i: a hot one for HOT_SHARE of requests, else a cold one spread out. */
function identity(i, identities) {
  if ((i * 0.618034) % 1 < HOT_SHARE) return { hot: true, index: i % HOT_IDENTITIES };
  return { hot: false, index: (i * 7_919) % identities };
}

/** `warm`: identities of the warm-up, apart from the measured run's. */
function headersFor(i, identities, warm) {
  const { hot, index } = identity(i, identities);
  if (i % 2 === 0) {
    const ip = hot
      ? `198.51.100.${index + 1 + (warm ? 100 : 0)}`
      : `${warm ? 11 : 10}.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
    return { path: '/search?q=soak', method: 'GET', headers: { 'x-forwarded-for': ip } };
  }
  return {
    path: '/events',
    method: 'POST',
    headers: {
      'x-api-key': `${warm ? 'warm-' : ''}${hot ? `soak-hot-${index}` : `soak-key-${index}`}`,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(BODY)),
    },
    body: BODY,
  };
}

/** Keep-alive connections for at most `concurrency` requests in flight; destroy() when done. */
export function soakAgent(concurrency) {
  // fifo: every socket takes its turn, so none idles past the server's keep-alive timeout (5 s)
  // and gets closed just as a request is written to it.
  return new Agent({ keepAlive: true, maxSockets: concurrency, scheduling: 'fifo' });
}

/**
 * Runs for `durationMs` (never past `durationMs` + 10 s). `t0` is the performance.now() origin
 * of the recorded times. Returns typed arrays per request: sentMs, latencyMs, status (0: a
 * transport error or a client timeout, counted by code in `errors`), decided (1 when a
 * RateLimit header came back).
 */
export async function driveSoak({
  url,
  agent,
  rate,
  concurrency,
  identities,
  durationMs,
  t0,
  warm = false,
}) {
  const total = Math.floor((rate * durationMs) / 1000);
  const sentMs = new Float64Array(total);
  const latencyMs = new Float64Array(total).fill(Number.NaN);
  const status = new Uint16Array(total);
  const decided = new Uint8Array(total);
  const errors = {};
  const start = performance.now();
  const hardStop = start + durationMs + 10_000;
  let next = 0;
  let sent = 0;
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      if (performance.now() > hardStop) break;
      const sentAt = performance.now();
      sentMs[i] = sentAt - t0;
      sent++;
      const reply = await send(url, agent, headersFor(i, identities, warm));
      latencyMs[i] = performance.now() - sentAt;
      status[i] = reply.status;
      if (reply.error !== undefined) errors[reply.error] = (errors[reply.error] ?? 0) + 1;
      decided[i] = reply.decided ? 1 : 0;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { sent, sentMs, latencyMs, status, decided, errors };
}

function code(error) {
  return typeof error?.code === 'string' ? error.code : String(error?.message ?? error);
}

function send(url, agent, { path, method, headers, body }) {
  return new Promise((resolve) => {
    const req = request(
      `${url}${path}`,
      { method, agent, headers, timeout: CLIENT_TIMEOUT_MS },
      (res) => {
        res.resume();
        res.once('end', () =>
          resolve({ status: res.statusCode ?? 0, decided: res.headers['ratelimit'] !== undefined }),
        );
        res.once('error', (error) => resolve({ status: 0, decided: false, error: code(error) }));
      },
    );
    req.once('timeout', () =>
      req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })),
    );
    req.once('error', (error) => resolve({ status: 0, decided: false, error: code(error) }));
    req.end(body);
  });
}
