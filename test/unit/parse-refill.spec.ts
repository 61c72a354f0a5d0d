import { parseRefill } from '../../lib/options/parse-refill.js';
import type { Refill } from '../../lib/options/limit-options.interface.js';

describe('parseRefill', () => {
  it.each([
    ['s', 1_000],
    ['sec', 1_000],
    ['second', 1_000],
    ['m', 60_000],
    ['min', 60_000],
    ['minute', 60_000],
    ['h', 3_600_000],
    ['hour', 3_600_000],
    ['d', 86_400_000],
    ['day', 86_400_000],
  ])("reads '4/%s' as 4 tokens per %i ms", (unit, intervalMs) => {
    expect(parseRefill(`4/${unit}` as Refill)).toEqual({ usPerToken: (intervalMs * 1000) / 4 });
  });

  it('reads a number as tokens per second', () => {
    expect(parseRefill(10)).toEqual({ usPerToken: 100_000 });
    expect(parseRefill(0.5)).toEqual({ usPerToken: 2_000_000 });
  });

  it('reads { tokens, intervalMs }', () => {
    expect(parseRefill({ tokens: 5, intervalMs: 2_000 })).toEqual({ usPerToken: 400_000 });
  });

  it('accepts fractions and spaces around the parts', () => {
    expect(parseRefill(' 1.5 / min ' as Refill)).toEqual({ usPerToken: 40_000_000 });
  });

  it.each(['', '10', '10/', '/min', '10/week', '10/MIN', '0/min', '-1/min', '1e3/s', 'ten/s'])(
    'rejects %j naming the format, the units and the value',
    (refill) => {
      const { problem } = parseRefill(refill as Refill) as { problem: string };
      expect(problem).toContain("refill must look like '<n>/<unit>'");
      expect(problem).toContain('s|sec|second|m|min|minute|h|hour|d|day');
      expect(problem).toContain(`(got ${JSON.stringify(refill)})`);
    },
  );

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects the number %p as not positive and finite',
    (refill) => {
      expect(parseRefill(refill)).toEqual({
        problem: `refill must be a positive, finite number of tokens per second (got ${refill})`,
      });
    },
  );

  it('rejects an object with a bad tokens or intervalMs, naming the field', () => {
    expect(parseRefill({ tokens: 0, intervalMs: 1_000 })).toEqual({
      problem: 'refill.tokens must be a positive, finite number (got 0)',
    });
    expect(parseRefill({ tokens: 1, intervalMs: -5 })).toEqual({
      problem: 'refill.intervalMs must be a positive, finite number (got -5)',
    });
    expect(parseRefill({ tokens: '1', intervalMs: 1_000 } as unknown as Refill)).toEqual({
      problem: 'refill.tokens must be a positive, finite number (got 1)',
    });
  });

  it('rejects other types', () => {
    const { problem } = parseRefill(true as unknown as Refill) as { problem: string };
    expect(problem).toMatch(/^refill must be a number, a '<n>\/<unit>' string or/);
  });
});
