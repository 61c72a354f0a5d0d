import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface PackEntry {
  files: { path: string }[];
}

describe('the published package', () => {
  it('ships the compiled library with its Lua script beside the JS that loads it', () => {
    // prepack builds dist/ first, as `npm publish` would.
    const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts=false'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [pack] = JSON.parse(output) as PackEntry[];
    const files = pack!.files.map((file) => file.path);

    expect(files).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/index.d.ts',
        'dist/throttler/throttler-hit.lua',
        'dist/cjs/throttler/throttler-hit.lua',
        'dist/blocks/blocks.lua',
        'dist/cjs/blocks/blocks.lua',
        'dist/pipeline/instance-registry.lua',
        'dist/cjs/pipeline/instance-registry.lua',
        'dist/algorithms/bucket-script.lua',
        'dist/algorithms/bucket-script.js',
        'dist/algorithms/token-bucket/token-bucket.lua',
        'dist/algorithms/token-bucket/token-bucket.js',
        'dist/cjs/algorithms/bucket-script.lua',
        'dist/cjs/algorithms/token-bucket/token-bucket.lua',
        'dist/algorithms/fixed-window/fixed-window.lua',
        'dist/algorithms/fixed-window/fixed-window.js',
        'dist/algorithms/sliding-window/sliding-window.lua',
        'dist/algorithms/sliding-window/sliding-window.js',
        'dist/cjs/algorithms/fixed-window/fixed-window.lua',
        'dist/cjs/algorithms/sliding-window/sliding-window.lua',
        'LICENSE',
      ]),
    );
    // Test data of the algorithms stays out of the package.
    expect(files.some((file) => file.includes('.cases.'))).toBe(false);
    expect(files.some((file) => file.startsWith('lib/') || file.startsWith('test/'))).toBe(false);
  }, 120_000);
});
