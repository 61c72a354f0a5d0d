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
  stop(): Promise<void>;
}

export interface SampleAppOptions {
  entry: string;
  env?: Record<string, string>;
}

export function buildSampleApp(): Promise<SampleAppBuild>;
export const BUILT_SAMPLE_APP: string;
export function startSampleApp(options: SampleAppOptions): Promise<SampleAppProcess>;
export function startSampleApps(
  count: number,
  options: SampleAppOptions,
): Promise<SampleAppProcess[]>;
export function waitForHealth(url: string): Promise<void>;
