export interface SampleAppBuild {
  readonly entry: string;
  readonly dir: string;
  remove(): void;
}

export interface SampleAppProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

export interface SampleAppOptions {
  entry: string;
  env?: Record<string, string>;
  /** Node options before the entry, e.g. `--expose-gc`. */
  nodeArgs?: readonly string[];
  /** Sees each stdout line first; true takes it out of output(). */
  onLine?: (line: string) => boolean;
}

export function buildSampleApp(): Promise<SampleAppBuild>;
export const BUILT_SAMPLE_APP: string;
export function startSampleApp(options: SampleAppOptions): Promise<SampleAppProcess>;
export function startSampleApps(
  count: number,
  options: SampleAppOptions,
): Promise<SampleAppProcess[]>;
