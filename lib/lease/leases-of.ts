import type { LeaseSettings, ResolvedLimit } from '../options/resolved-limit.interface.js';

/** The leases of a request's limits, when every one of them leases; else undefined. */
export function leasesOf(limits: readonly ResolvedLimit[]): readonly LeaseSettings[] | undefined {
  const leases: LeaseSettings[] = [];
  for (const limit of limits) {
    if (limit.lease === undefined) return undefined;
    leases.push(limit.lease);
  }
  return leases;
}
