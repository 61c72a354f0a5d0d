import type { RedisRateLimitStore } from './redis.store.js';

/**
 * Runs `call` now, every `intervalMs` and whenever the store's connection comes back, one at a
 * time: a call still running when the next is due (a paused Redis) is not doubled. A failure is
 * dropped: the next call tries again. Returns the stop.
 */
export function repeatOn(
  store: RedisRateLimitStore,
  intervalMs: number,
  call: () => Promise<void>,
): () => void {
  let running = false;
  const run = (): void => {
    if (running) return;
    running = true;
    call()
      .catch(() => undefined)
      .finally(() => {
        running = false;
      });
  };
  const timer = setInterval(run, intervalMs).unref();
  const unsubscribe = store.onReconnect(run);
  run();
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}
