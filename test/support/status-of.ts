import { request } from 'node:http';

/** What a request to a sample-app process answered: its status and Retry-After. */
export interface StatusAnswer {
  readonly status: number;
  readonly retryAfter: string | undefined;
}

/** One request on a fresh connection (no agent), bounded by `timeoutMs`; the body is drained. */
export function statusOf(
  url: string,
  { method = 'GET', timeoutMs = 5_000 }: { method?: string; timeoutMs?: number } = {},
): Promise<StatusAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }),
      );
    });
    req.once('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.once('error', reject);
    req.end();
  });
}
