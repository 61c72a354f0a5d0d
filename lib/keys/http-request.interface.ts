/** The parts of an Express or Fastify request that identities are read from. */
export interface HttpRequestLike {
  ip?: string;
  socket?: { remoteAddress?: string };
  headers?: Record<string, string | string[] | undefined>;
  user?: { id?: unknown; sub?: unknown } | null;
}
