/** The parts of a request that identities are read from, whatever the transport. */
export interface HttpRequestLike {
  ip?: string | undefined;
  socket?: { remoteAddress?: string | undefined } | undefined;
  headers?: Record<string, string | string[] | undefined> | undefined;
  user?: { id?: unknown; sub?: unknown } | null | undefined;
  /** Fastify: the raw Node request, where a Nest middleware attaches the user. */
  raw?: { user?: { id?: unknown; sub?: unknown } | null | undefined } | undefined;
}
