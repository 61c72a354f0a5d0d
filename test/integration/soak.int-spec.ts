import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSampleApp, type SampleAppBuild } from '../support/sample-app-process.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface SoakCheck {
  readonly name: string;
  readonly measured: string;
  readonly pass: boolean;
}
interface SoakResult {
  readonly passed: boolean;
  readonly checks: readonly SoakCheck[];
  readonly pauses: readonly { fromMs: number; toMs: number }[];
  readonly config: { readonly memoryMaxKeys: number };
  readonly summary: { readonly memoryPhase: { readonly storeSizes: readonly number[] } };
}

/** Runs bench/soak.mjs to its end; resolves its exit code and output. */
function runSoak(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not the soak's business
  delete env.REDIS_URL; // the soak starts its own redis-server, to pause it
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'soak.mjs'), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

/**
 * The short soak: 8 s of load instead of 60 (two 0.64 s Redis pauses), so it checks what does
 * not need a long run: no wait tied to Redis while it is paused, no 5xx, the memory store
 * bounded. Its memory bounds are looser than the full run's (+25% from the middle to the last
 * 2 s third, for the heap after a full GC and for RSS): too short to tell a small leak from
 * warm-up, which the 60 s run (npm run soak) judges. A request may wait timeoutMs + 150 ms beyond
 * event-loop stalls (a shared CI machine), still well under a pause, which a wait tied to Redis
 * would last.
 */
describe('soak, short version', () => {
  let build: SampleAppBuild;
  let out: string;

  beforeAll(async () => {
    build = await buildSampleApp();
    out = mkdtempSync(join(tmpdir(), 'nrrl-soak-'));
  }, 60_000);
  afterAll(() => {
    build?.remove();
    if (out !== undefined) rmSync(out, { recursive: true, force: true });
  });

  it('serves through two Redis pauses with bounded waits, no errors, flat memory and a bounded memory store', async () => {
    const { code, output } = await runSoak([
      '--duration',
      '8',
      '--warmup',
      '1',
      '--margin-ms',
      '150',
      '--heap-bound',
      '0.25',
      '--rss-bound',
      '0.25',
      '--entry',
      build.entry,
      '--out',
      out,
    ]);
    const result = JSON.parse(readFileSync(join(out, 'soak.json'), 'utf8')) as SoakResult;
    const failed = result.checks.filter((check) => !check.pass);
    expect({ failed, code }).toEqual({ failed: [], code: 0 });
    expect(result.passed).toBe(true);
    expect(result.pauses).toHaveLength(2);
    expect(Math.max(...result.summary.memoryPhase.storeSizes)).toBeLessThanOrEqual(
      result.config.memoryMaxKeys,
    );
    expect(output).toContain('soak passed');
  }, 90_000);
});
