import fc from 'fast-check';
import { toBucketIdentity } from '../../lib/keys/bucket-identity.js';

/** Strings a hostile or odd client could send: unicode, hash-tag braces, control bytes, long. */
const hostileString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom('{', '}', '\n', '\r', '\0', ' ', '\t', 'a', ':', '#', '.'),
    maxLength: 40,
  }),
  fc.stringMatching(/^[\w.:@/+=-]{1,140}$/),
  fc.string({ unit: fc.constantFrom('a', '}', '\u2028'), minLength: 100, maxLength: 3_000 }),
);

describe('toBucketIdentity over arbitrary strings (property)', () => {
  it('bounds the length to 128 and leaves no braces, whitespace or control characters', () => {
    fc.assert(
      fc.property(hostileString, (raw) => {
        const identity = toBucketIdentity(raw);
        expect(identity.length).toBeGreaterThan(0);
        expect(identity.length).toBeLessThanOrEqual(128);
        expect(identity).not.toMatch(/[{}\s\p{Cc}\p{Cf}]/u);
      }),
      { numRuns: 1_000 },
    );
  });

  it('maps distinct inputs to distinct identities', () => {
    fc.assert(
      fc.property(fc.uniqueArray(hostileString, { minLength: 2, maxLength: 200 }), (raws) => {
        const identities = new Set(raws.map(toBucketIdentity));
        expect(identities.size).toBe(raws.length);
      }),
      { numRuns: 200 },
    );
  });
});
