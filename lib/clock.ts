import { performance } from 'node:perf_hooks';

/** A source of time in microseconds; tests inject a fake one. */
export interface Clock {
  nowUs(): number;
}

/** Wall time with sub-millisecond resolution, monotonic within the process. */
export const systemClock: Clock = {
  nowUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
};
