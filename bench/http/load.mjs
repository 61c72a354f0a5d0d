// autocannon against one server for `seconds`: GET / with the `x-client-id` header cycling over
// CLIENT_IDS values. Latencies are collected from autocannon's 'response' events (fractional ms)
// because its own histogram rounds to whole milliseconds.
import { createRequire } from 'node:module';
import { CLIENT_HEADER, CLIENT_IDS } from './variants.mjs';

const autocannon = createRequire(import.meta.url)('autocannon');

/** For `seconds`, or for `amount` requests when given (a warm-up counted in requests). */
export function runAutocannon({ port, connections, seconds, amount, record = true }) {
  let next = 0;
  const setupRequest = (request) => {
    request.headers[CLIENT_HEADER] = String(next++ % CLIENT_IDS);
    return request;
  };
  const latencies = [];
  return new Promise((resolve, reject) => {
    const tracker = autocannon(
      {
        url: `http://127.0.0.1:${port}/`,
        connections,
        ...(amount ? { amount } : { duration: seconds }),
        // A short sampling interval so a run ends close to `seconds` (it ends on a sample tick).
        sampleInt: 100,
        requests: [{ method: 'GET', setupRequest }],
      },
      (error, result) => {
        if (error) return reject(error);
        if (!record) return resolve(undefined);
        latencies.sort((a, b) => a - b);
        const at = (q) =>
          latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))];
        resolve({
          requests: result.requests.total,
          seconds: result.duration,
          perSecond: result.requests.total / result.duration,
          p50Ms: at(0.5),
          p99Ms: at(0.99),
          non2xx: result.non2xx,
          errors: result.errors,
        });
      },
    );
    if (record) tracker.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
}
