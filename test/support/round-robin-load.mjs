// Bounded HTTP load over several app instances: request i goes to instance i mod n, with the
// identity (x-api-key) i div n mod k, so every identity reaches every instance in turn.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const BODY = JSON.stringify([{ type: 'page_view' }]);
/**
 * An idle keep-alive socket is closed after this long. Node 20's Agent keeps idle sockets forever
 * when it has no `timeout` of its own (the server's `Keep-Alive: timeout=5` hint only shortens
 * one), while Node's http server closes them after 5 s (+1 s): on a loaded machine, where a run
 * stretches past 5 s and bursts leave extra sockets idle, a request sent on a socket the app was
 * closing met ECONNRESET.
 */
const IDLE_SOCKET_MS = 2_000;

/**
 * Sends `rate` requests per second for `durationMs` (so at most rate × durationMs / 1000
 * requests), at most `concurrency` at once; a request late on its schedule goes at once, and none
 * starts after `maxDurationMs`.
 * Per identity, returns the outcome counts and four instants (performance.now() ms): first and
 * last request sent, first and last reply received. `allowed` counts 2xx replies that carry a
 * RateLimit header (a decision was made); `undecided` counts 2xx without one (failure strategy).
 * With `recordTimings`, also every request's [sent, reply] instants. A request that met
 * ECONNRESET or EPIPE on a reused keep-alive socket before any reply (the app closed the idle
 * socket as it was sent, so never read it) is sent once more on a new connection and counted in
 * `resent`; its instants are those of the answered attempt.
 */
export async function driveRoundRobin({
  urls,
  path,
  identities,
  rate,
  durationMs,
  concurrency = 32,
  method = 'POST',
  maxDurationMs = 3 * durationMs,
  recordTimings = false,
}) {
  const agents = urls.map(
    () => new Agent({ keepAlive: true, maxSockets: concurrency, timeout: IDLE_SOCKET_MS }),
  );
  const total = Math.floor((rate * durationMs) / 1000);
  const stats = new Map(identities.map((identity) => [identity, emptyStats()]));
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      // A machine too slow for the schedule stops sending, so the run stays bounded in time too.
      if (performance.now() > start + maxDurationMs) break;
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const instance = i % urls.length;
      const identity = identities[Math.floor(i / urls.length) % identities.length];
      const entry = stats.get(identity);
      let outcome = await send(urls[instance], agents[instance], path, method, identity);
      if (outcome.staleSocket) {
        entry.resent++;
        outcome = await send(urls[instance], false, path, method, identity);
      }
      const { sentAt, status, decided, error } = outcome;
      const repliedAt = performance.now();
      entry.sent++;
      entry.firstSent = Math.min(entry.firstSent, sentAt);
      entry.lastSent = Math.max(entry.lastSent, sentAt);
      entry.firstReply = Math.min(entry.firstReply, repliedAt);
      entry.lastReply = Math.max(entry.lastReply, repliedAt);
      if (recordTimings) entry.timings.push([sentAt, repliedAt]);
      if (status === 429) entry.denied++;
      else if (status >= 200 && status < 300 && decided) entry.allowed++;
      else if (status >= 200 && status < 300) entry.undecided++;
      else {
        const outcome = error ?? String(status);
        entry.other[outcome] = (entry.other[outcome] ?? 0) + 1;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    for (const agent of agents) agent.destroy();
  }
  const end = performance.now();
  return { start, end, requests: total, perIdentity: Object.fromEntries(stats) };
}

function emptyStats() {
  return {
    sent: 0,
    allowed: 0,
    denied: 0,
    undecided: 0,
    other: {},
    resent: 0,
    firstSent: Infinity,
    lastSent: -Infinity,
    firstReply: Infinity,
    lastReply: -Infinity,
    timings: [],
  };
}

/**
 * Resolves { sentAt, status, decided }; a transport error is status 0 with its code as `error`,
 * and `staleSocket` when it was a reset of a reused socket before any reply.
 */
function send(url, agent, path, method, identity) {
  return new Promise((resolve) => {
    const sentAt = performance.now();
    let answered = false;
    const req = request(
      `${url}${path}`,
      {
        method,
        agent,
        timeout: 10_000,
        headers:
          method === 'GET'
            ? { 'x-api-key': identity }
            : {
                'x-api-key': identity,
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(BODY),
              },
      },
      (res) => {
        answered = true;
        res.resume();
        res.once('end', () =>
          resolve({
            sentAt,
            status: res.statusCode ?? 0,
            decided: res.headers['ratelimit'] !== undefined,
          }),
        );
        res.once('error', (err) =>
          resolve({ sentAt, status: 0, decided: false, error: errorCode(err) }),
        );
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', (err) => {
      const error = errorCode(err);
      const staleSocket =
        req.reusedSocket && !answered && (error === 'ECONNRESET' || error === 'EPIPE');
      resolve({ sentAt, status: 0, decided: false, error, staleSocket });
    });
    req.end(method === 'GET' ? undefined : BODY);
  });
}

function errorCode(error) {
  return error.code ?? error.message;
}
