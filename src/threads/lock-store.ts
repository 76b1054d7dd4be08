/**
 * What a thread lock store provides to `guardThreads`: a lease per thread (one holder, expiring unless renewed), a
 * FIFO queue of waiters per thread (each place expiring unless renewed, so a dead waiter never blocks the queue), and
 * a message bus between replicas (cancel a holder, wake waiters). The strategies live in the guard, once.
 */
import { checkOptions, type OptionSpec, rule } from "../core/options.js";

/** The outcome of {@link ThreadLockStore.acquire}. */
export type AcquireResult =
  | { readonly acquired: true /** The thread was held by a lease that had expired (its holder died). */; readonly tookOver: boolean }
  | {
      readonly acquired: false;
      /** The current holder (undefined when the thread is free but earlier waiters queue for it). */
      readonly holder: string | undefined;
      /** How long the current holder has held the thread, in ms. */
      readonly busyForMs: number;
    };

/** A message between replicas: `cancel` asks `holder` to stop its run; `released` wakes the thread's waiters. */
export interface ThreadLockMessage {
  readonly type: "cancel" | "released";
  readonly threadId: string;
  readonly holder: string;
}

/** A shared store of thread leases; see `InMemoryThreadLockStore`, `PostgresThreadLockStore`, `RedisThreadLockStore`. */
export interface ThreadLockStore {
  /**
   * Takes the thread for `holder` for `leaseMs` when it is free (or its lease expired). With `queued`, only when
   * `holder` is the earliest live waiter; without, only when nobody waits.
   */
  acquire(threadId: string, holder: string, options: { leaseMs: number; queued: boolean }): Promise<AcquireResult>;
  /** Extends `holder`'s lease by `leaseMs`; false when it no longer holds the thread. */
  renew(threadId: string, holder: string, leaseMs: number): Promise<boolean>;
  /** Frees the thread if `holder` holds it, and tells the waiters. */
  release(threadId: string, holder: string): Promise<void>;
  /** Joins the thread's queue (keeping an earlier place) or refreshes the place; it expires after `leaseMs`. */
  enqueue(threadId: string, holder: string, leaseMs: number): Promise<void>;
  /** Leaves the thread's queue. */
  dequeue(threadId: string, holder: string): Promise<void>;
  /** Sends `message` to every replica's subscribers (this one's included). */
  publish(message: ThreadLockMessage): Promise<void>;
  /** Listens to every message; resolves once listening, to the function that stops it. */
  subscribe(listener: (message: ThreadLockMessage) => void): Promise<() => void>;
}

/** Options of {@link InMemoryThreadLockStore}. */
export interface InMemoryThreadLockStoreOptions {
  /** Milliseconds since the epoch; injected by tests. Default `Date.now`. */
  now?: () => number;
}

/** @internal The accepted keys of {@link InMemoryThreadLockStoreOptions}: validation and the bad-input sweep read it. */
export const IN_MEMORY_THREAD_LOCK_STORE_OPTIONS = {
  now: rule.function(),
} as const satisfies OptionSpec<keyof InMemoryThreadLockStoreOptions>;

interface Lease {
  holder: string;
  since: number;
  expiresAt: number;
}

/**
 * Thread leases in this process only: enough for one replica (or tests); several replicas need the PostgreSQL or
 * Redis store so that they see each other's runs.
 * @example
 * const graph = guardThreads(builder.compile({ checkpointer }), { store: new InMemoryThreadLockStore(), strategy: "reject" });
 */
export class InMemoryThreadLockStore implements ThreadLockStore {
  readonly #now: () => number;
  readonly #leases = new Map<string, Lease>();
  readonly #queues = new Map<string, Map<string, number>>();
  readonly #listeners = new Set<(message: ThreadLockMessage) => void>();

  constructor(options?: InMemoryThreadLockStoreOptions) {
    const o = checkOptions<InMemoryThreadLockStoreOptions>(
      options,
      IN_MEMORY_THREAD_LOCK_STORE_OPTIONS,
      "InMemoryThreadLockStore(options)",
    );
    this.#now = o.now ?? Date.now;
  }

  #liveQueue(threadId: string): Map<string, number> | undefined {
    const queue = this.#queues.get(threadId);
    if (queue === undefined) return undefined;
    const now = this.#now();
    for (const [holder, expiresAt] of queue) if (expiresAt <= now) queue.delete(holder);
    if (queue.size === 0) this.#queues.delete(threadId);
    return queue.size === 0 ? undefined : queue;
  }

  async acquire(threadId: string, holder: string, options: { leaseMs: number; queued: boolean }): Promise<AcquireResult> {
    const now = this.#now();
    const lease = this.#leases.get(threadId);
    if (lease !== undefined && lease.expiresAt > now && lease.holder !== holder) {
      return { acquired: false, holder: lease.holder, busyForMs: now - lease.since };
    }
    const queue = this.#liveQueue(threadId);
    const first = queue?.keys().next().value;
    if (first !== undefined && (options.queued ? first !== holder : true)) return { acquired: false, holder: undefined, busyForMs: 0 };
    queue?.delete(holder);
    if (queue?.size === 0) this.#queues.delete(threadId);
    this.#leases.set(threadId, { holder, since: now, expiresAt: now + options.leaseMs });
    return { acquired: true, tookOver: lease !== undefined && lease.holder !== holder };
  }

  async renew(threadId: string, holder: string, leaseMs: number): Promise<boolean> {
    const lease = this.#leases.get(threadId);
    const now = this.#now();
    if (lease === undefined || lease.holder !== holder || lease.expiresAt <= now) return false;
    lease.expiresAt = now + leaseMs;
    return true;
  }

  async release(threadId: string, holder: string): Promise<void> {
    if (this.#leases.get(threadId)?.holder !== holder) return;
    this.#leases.delete(threadId);
    await this.publish({ type: "released", threadId, holder });
  }

  async enqueue(threadId: string, holder: string, leaseMs: number): Promise<void> {
    let queue = this.#queues.get(threadId);
    if (queue === undefined) {
      queue = new Map();
      this.#queues.set(threadId, queue);
    }
    // Map keeps insertion order: re-setting an existing key refreshes its expiry and keeps its place.
    queue.set(holder, this.#now() + leaseMs);
  }

  async dequeue(threadId: string, holder: string): Promise<void> {
    const queue = this.#queues.get(threadId);
    queue?.delete(holder);
    if (queue?.size === 0) this.#queues.delete(threadId);
  }

  async publish(message: ThreadLockMessage): Promise<void> {
    for (const listener of [...this.#listeners]) listener(message);
  }

  async subscribe(listener: (message: ThreadLockMessage) => void): Promise<() => void> {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
