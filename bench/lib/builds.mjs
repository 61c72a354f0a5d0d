// Library builds for bench/compare.mjs, each a dist directory in its own temporary directory:
// - a committed revision: `git archive <rev>` unpacked there, the repository's node_modules linked
//   in, `npm run build` run there;
// - the working tree: `npm run build` in the repository, then dist/ (and package.json) copied
//   aside, so that a rebuild by someone else during the run cannot change what is measured.
// The temporary directories live under the OS temp directory, not in the repository, where
// `eslint .` and jest would find a second copy of lib/ and test/. Both builds resolve their
// dependencies to the same node_modules (one @nestjs/core and ioredis for both: the ones
// installed now, whatever the baseline's package.json said).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

const git = (...args) =>
  execFileSync('git', ['-C', REPO, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();

/** Paths whose uncommitted changes make the working tree's build differ from HEAD's. */
const BUILD_INPUTS = ['lib', 'scripts', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

/** { sha, short, subject } of a revision; throws on a name git does not know. */
export function revision(rev) {
  let sha;
  try {
    sha = git('rev-parse', '--verify', '--quiet', `${rev}^{commit}`);
  } catch {
    throw new Error(`not a revision: ${rev}`);
  }
  return {
    sha,
    short: git('rev-parse', '--short', sha),
    subject: git('log', '-1', '--format=%s', sha),
  };
}

function tempDir(name) {
  return mkdtempSync(join(tmpdir(), `nrrl-bench-${name}-`));
}

function npmBuild(cwd) {
  try {
    execFileSync('npm', ['run', 'build'], { cwd, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim().split('\n').slice(-15);
    throw new Error(`npm run build failed in ${cwd}:\n${output.join('\n')}`, { cause: error });
  }
}

/** A committed revision's build: { sha, short, subject, label, dist, cleanup() }. */
export function buildRevision(rev) {
  const { sha, short, subject } = revision(rev);
  const dir = tempDir(short);
  try {
    const tar = join(dir, 'source.tar');
    git('archive', '--format=tar', '-o', tar, sha);
    execFileSync('tar', ['-xf', tar, '-C', dir]);
    rmSync(tar);
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
    npmBuild(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    sha,
    short,
    subject,
    label: short,
    source: `git archive ${short}`,
    dist: join(dir, 'dist'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The working tree's build (`npm run build`), copied aside: the same shape as buildRevision's. */
export function buildWorkingTree() {
  npmBuild(REPO);
  const { sha, short, subject } = revision('HEAD');
  const dirty = git('status', '--porcelain', '--', ...BUILD_INPUTS) !== '';
  const dir = tempDir('worktree');
  try {
    cpSync(join(REPO, 'dist'), join(dir, 'dist'), { recursive: true });
    cpSync(join(REPO, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    sha,
    short: dirty ? `${short}+` : short,
    subject: dirty ? `working tree on ${short}, with uncommitted changes` : subject,
    label: dirty ? `${short} + uncommitted changes` : short,
    source: 'working tree, npm run build',
    dirty,
    dist: join(dir, 'dist'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
