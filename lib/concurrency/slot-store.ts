/** What a store answered to an acquisition. */
export interface SlotAnswer {
  readonly acquired: boolean;
  /** Slots in flight after it (with the new one when acquired). */
  readonly held: number;
}

/**
 * Where slots in flight live: Redis (shared by the fleet) or this process. A slot is a unique
 * id in a key's set with a lease end; an ended lease frees its slot, whoever held it.
 */
export interface SlotStore {
  /** Takes a slot under `key` when fewer than `max` are held, with a lease of `leaseMs`. */
  acquire(key: string, slot: string, max: number, leaseMs: number): Promise<SlotAnswer>;
  /** Moves the slot's lease end to `leaseMs` from now; false: the slot was gone already. */
  renew(key: string, slot: string, leaseMs: number): Promise<boolean>;
  /** Frees the slot; nothing when it is gone. */
  release(key: string, slot: string): Promise<void>;
}
