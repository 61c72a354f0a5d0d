import { hashIdentity, toBucketIdentity } from '../../lib/keys/bucket-identity.js';
import { bucketKey, bucketKeyHead } from '../../lib/keys/bucket-key.js';

describe('toBucketIdentity', () => {
  it.each(['ip:203.0.113.7', 'user:42', 'ip:2001:db8:1:2:0:0:0:0/64', 'key:abc-_=+', 'a@b.c'])(
    'keeps the plain identity %s readable',
    (identity) => {
      expect(toBucketIdentity(identity)).toBe(identity);
    },
  );

  it.each([
    ['braces', 'user:{evil}'],
    ['a closing brace', 'user:a}b'],
    ['a newline', 'user:a\nb'],
    ['a NUL byte', 'user:a\0b'],
    ['a space', 'user:a b'],
    ['a hash sign', '#abc'],
    ['non-ASCII', 'user:zoë'],
    ['the empty string', ''],
    ['129 characters', 'u'.repeat(129)],
    ['1 MB', 'x'.repeat(1024 * 1024)],
  ])('hashes an identity with %s into # and 43 base64url characters', (_case, identity) => {
    const result = toBucketIdentity(identity);
    expect(result).toBe(`#${hashIdentity(identity)}`);
    expect(result).toMatch(/^#[A-Za-z0-9_-]{43}$/);
  });

  it('keeps 128 characters plain', () => {
    expect(toBucketIdentity('u'.repeat(128))).toBe('u'.repeat(128));
  });

  it('never maps a plain identity onto a hashed one', () => {
    const hashed = toBucketIdentity('user:{x}');
    // the hashed form itself, passed in as a raw identity, is hashed again, not kept
    expect(toBucketIdentity(hashed)).not.toBe(hashed);
  });

  it('gives distinct unsafe identities distinct hashes', () => {
    expect(toBucketIdentity('user:{a}')).not.toBe(toBucketIdentity('user:{b}'));
  });
});

describe('bucketKey', () => {
  it('is <keyPrefix><scope>:<name>:{<identity>}', () => {
    expect(bucketKey(bucketKeyHead('rl:', 'Cats.create', 'burst'), 'ip:1.2.3.4')).toBe(
      'rl:Cats.create:burst:{ip:1.2.3.4}',
    );
  });

  it('stays short whatever the identity', () => {
    const key = bucketKey(bucketKeyHead('rl:', 's', 'n'), toBucketIdentity('x'.repeat(1e6)));
    expect(key.length).toBeLessThan(64);
  });
});
