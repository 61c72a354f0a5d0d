export interface IdentityStats {
  sent: number;
  allowed: number;
  denied: number;
  undecided: number;
  /** Counts of other statuses ('500') and transport errors ('ECONNRESET'). */
  other: Record<string, number>;
  /** Requests sent again after a reset of a reused keep-alive socket before any reply. */
  resent: number;
  firstSent: number;
  lastSent: number;
  firstReply: number;
  lastReply: number;
  /** [sent, reply] of each request, with `recordTimings`. */
  timings: [number, number][];
}

export interface RoundRobinResult {
  readonly start: number;
  readonly end: number;
  readonly requests: number;
  readonly perIdentity: Record<string, IdentityStats>;
}

export function driveRoundRobin(options: {
  urls: readonly string[];
  path: string;
  identities: readonly string[];
  rate: number;
  durationMs: number;
  concurrency?: number;
  method?: string;
  maxDurationMs?: number;
  recordTimings?: boolean;
}): Promise<RoundRobinResult>;
