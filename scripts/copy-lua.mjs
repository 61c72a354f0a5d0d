// tsc copies no assets: put every .lua of lib/ beside the compiled JS that loads it.
import { cpSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'lib');
const target = join(root, 'dist');

for (const entry of readdirSync(source, { recursive: true, withFileTypes: true })) {
  if (entry.isFile() && entry.name.endsWith('.lua')) {
    const from = join(entry.parentPath, entry.name);
    cpSync(from, join(target, relative(source, from)));
  }
}
