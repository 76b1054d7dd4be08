/**
 * Slots of a fleet-wide bulkhead. A slot is a lease: its holder renews it while the call runs and releases it at the
 * end, and a holder that dies without releasing loses it once the lease runs out, so a killed process gives its
 * slots back on its own. `RedisSemaphoreStore` (from `langgraph-ops/redis`) shares them between processes.
 */

/** Where a bulkhead's slots live. */
export interface SemaphoreStore {
  /** Lease length in ms; a running holder renews its slot every third of it. */
  readonly leaseMs: number;
  /** Takes a slot of `name` for `holder` when fewer than `limit` live leases exist; resolves whether it did. */
  acquire(name: string, holder: string, limit: number): Promise<boolean>;
  /** Extends `holder`'s lease; resolves false when it had already run out. */
  renew(name: string, holder: string): Promise<boolean>;
  /** Gives the slot back. */
  release(name: string, holder: string): Promise<void>;
  /** Calls `listener` when a slot of `name` is released (a hint to try again); returns the unsubscribe function. */
  onRelease?(name: string, listener: () => void): () => void;
}

/**
 * Slots in this process, leases included: for tests and for code written against the store interface.
 * @example
 * const node = withBulkhead(call, { name: "search", limit: 4, store: new InMemorySemaphoreStore() });
 */
export class InMemorySemaphoreStore implements SemaphoreStore {
  readonly leaseMs: number;
  readonly #now: () => number;
  readonly #slots = new Map<string, Map<string, number>>();
  readonly #listeners = new Map<string, Set<() => void>>();

  constructor(options: { leaseMs?: number; now?: () => number } = {}) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  #live(name: string): Map<string, number> {
    let slots = this.#slots.get(name);
    if (slots === undefined) {
      slots = new Map();
      this.#slots.set(name, slots);
    }
    const now = this.#now();
    for (const [holder, until] of slots) if (until <= now) slots.delete(holder);
    return slots;
  }

  async acquire(name: string, holder: string, limit: number): Promise<boolean> {
    const slots = this.#live(name);
    if (!slots.has(holder) && slots.size >= limit) return false;
    slots.set(holder, this.#now() + this.leaseMs);
    return true;
  }

  async renew(name: string, holder: string): Promise<boolean> {
    const slots = this.#live(name);
    if (!slots.has(holder)) return false;
    slots.set(holder, this.#now() + this.leaseMs);
    return true;
  }

  async release(name: string, holder: string): Promise<void> {
    this.#live(name).delete(holder);
    for (const listener of [...(this.#listeners.get(name) ?? [])]) listener();
  }

  onRelease(name: string, listener: () => void): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }
}
