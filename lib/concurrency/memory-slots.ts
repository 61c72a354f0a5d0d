import { performance } from 'node:perf_hooks';
import type { SlotAnswer, SlotStore } from './slot-store.js';

/**
 * Slots in this process: the store without Redis, and the 'local' failure strategy's. A key's
 * entry lives while it holds slots, so memory follows the requests in flight. Lease ends are on
 * the monotonic clock, as a wall clock set back would keep slots forever.
 */
export class MemorySlots implements SlotStore {
  private readonly keys = new Map<string, Map<string, number>>();

  acquire(key: string, slot: string, max: number, leaseMs: number): Promise<SlotAnswer> {
    const now = performance.now();
    let slots = this.keys.get(key);
    if (slots === undefined) {
      slots = new Map();
      this.keys.set(key, slots);
    }
    for (const [held, end] of slots) if (end <= now) slots.delete(held);
    if (slots.size >= max) return Promise.resolve({ acquired: false, held: slots.size });
    slots.set(slot, now + leaseMs);
    return Promise.resolve({ acquired: true, held: slots.size });
  }

  renew(key: string, slot: string, leaseMs: number): Promise<boolean> {
    const slots = this.keys.get(key);
    const now = performance.now();
    const end = slots?.get(slot);
    if (slots === undefined || end === undefined || end <= now) return Promise.resolve(false);
    slots.set(slot, now + leaseMs);
    return Promise.resolve(true);
  }

  release(key: string, slot: string): Promise<void> {
    const slots = this.keys.get(key);
    if (slots !== undefined && slots.delete(slot) && slots.size === 0) this.keys.delete(key);
    return Promise.resolve();
  }

  /** Keys holding slots (expired ones until their key is next used). */
  get size(): number {
    return this.keys.size;
  }
}
