import { setTimeout as sleep } from 'node:timers/promises';
import { jest } from '@jest/globals';
import { DeadlineQueue } from '../../lib/stores/deadline-queue.js';

class TimeoutError extends Error {}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

describe('DeadlineQueue', () => {
  it('settles like the work when it finishes in time', async () => {
    const queue = new DeadlineQueue(1_000, () => new TimeoutError());
    await expect(queue.race(Promise.resolve(42))).resolves.toBe(42);
    const failure = new Error('boom');
    await expect(queue.race(Promise.reject(failure))).rejects.toBe(failure);
  });

  it('wraps a non-Error rejection in an Error', async () => {
    const queue = new DeadlineQueue(1_000, () => new TimeoutError());
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    await expect(queue.race(Promise.reject('text'))).rejects.toEqual(new Error('text'));
  });

  it('rejects with onTimeout() when the work never settles', async () => {
    const queue = new DeadlineQueue(20, () => new TimeoutError('late'));
    await expect(queue.race(never())).rejects.toBeInstanceOf(TimeoutError);
  });

  it('ignores work that settles after its deadline', async () => {
    const queue = new DeadlineQueue(10, () => new TimeoutError());
    let finish: (value: string) => void = () => undefined;
    const work = new Promise<string>((resolve) => {
      finish = resolve;
    });
    const raced = queue.race(work);
    await expect(raced).rejects.toBeInstanceOf(TimeoutError);
    finish('too late');
    await expect(raced).rejects.toBeInstanceOf(TimeoutError);
  });

  it('expires every stalled call while resolving those that finish', async () => {
    const queue = new DeadlineQueue(30, () => new TimeoutError());
    const outcomes = await Promise.allSettled([
      queue.race(never()),
      queue.race(sleep(1).then(() => 'quick')),
      queue.race(never()),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'rejected',
      'fulfilled',
      'rejected',
    ]);
  });

  it('stops its one shared timer once nothing is pending', async () => {
    const setSpy = jest.spyOn(globalThis, 'setInterval');
    const clearSpy = jest.spyOn(globalThis, 'clearInterval');
    try {
      const queue = new DeadlineQueue(10, () => new TimeoutError());
      await expect(
        Promise.allSettled([queue.race(never()), queue.race(never()), queue.race(never())]),
      ).resolves.toHaveLength(3);
      expect(setSpy).toHaveBeenCalledTimes(1);
      expect(clearSpy).toHaveBeenCalledWith(setSpy.mock.results[0]!.value);
    } finally {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    }
  });
});
