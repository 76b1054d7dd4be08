/**
 * The idempotency store contract and the bounded in-memory store. A store keeps, per key, either a lease (someone
 * is running the work) or the JSON text of the finished result.
 */
import { randomUUID } from "node:crypto";
import { checkOptions, type OptionSpec, rule } from "../core/options.js";

/** The answer to a claim. */
export type ClaimResult =
  /** The caller holds the lease and must run the work, then `complete` or `release` with `token`. */
  | { status: "acquired"; token: string }
  /** The work already finished; `value` is the recorded JSON text. */
  | { status: "completed"; value: string }
  /** Another caller holds a live lease. */
  | { status: "pending" };

/**
 * How a claim identifies its caller. `runOnce` and `withIdempotency` pass both: the attempts of one node task run form
 * a chain, each claim of the chain gets a fresh `token`, and lists the chain's earlier tokens in `supersedes`, so a
 * retry takes over the lease its own earlier attempt left behind (a failed `complete`, a lost `release`) instead of
 * waiting on it. A late-arriving older claim never lists a newer token, so it cannot take a lease back.
 */
export interface ClaimOptions {
  /** The lease token to store when the claim is granted (returned as `token`). Default: a random UUID. */
  token?: string;
  /** Tokens of the caller's own earlier claims on this key: a live lease held under one of them is granted again. */
  supersedes?: readonly string[];
}

/**
 * Storage for idempotency records. Implementations must make `claim` atomic: of concurrent claims on a free or
 * expired key exactly one gets `acquired`. A store that ignores `ClaimOptions` still works; its callers then wait on
 * their own leftover leases like on anyone else's.
 */
export interface IdempotencyStore {
  /**
   * Claims `key` for `leaseMs` when it is free, expired or leased under one of `options.supersedes`; else reports the
   * recorded result or a live lease held by someone else.
   */
  claim(key: string, leaseMs: number, options?: ClaimOptions): Promise<ClaimResult>;
  /** Records `value` (JSON text) for `key`, kept for `ttlMs`; false when `token` no longer holds the lease. */
  complete(key: string, token: string, value: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up after a failure so a later attempt can run the work. */
  release(key: string, token: string): Promise<void>;
}

/** Options of `InMemoryIdempotencyStore`. */
export interface InMemoryIdempotencyStoreOptions {
  /** Most records kept; the oldest are dropped past it. Default 10_000. */
  maxEntries?: number;
  /** Time source. Default `Date.now`. */
  now?: () => number;
}

/** @internal The accepted keys of {@link InMemoryIdempotencyStoreOptions}: validation and the bad-input sweep read it. */
export const IN_MEMORY_IDEMPOTENCY_STORE_OPTIONS = {
  maxEntries: rule.integer(1),
  now: rule.function(),
} as const satisfies OptionSpec<keyof InMemoryIdempotencyStoreOptions>;

type MemoryRecord = { token: string; expiresAt: number; value?: string };

/**
 * A bounded, TTL-based store for a single process (the default). Expired records are replaced on access and the
 * oldest records are dropped once `maxEntries` is reached, so no timer is needed.
 */
export class InMemoryIdempotencyStore implements IdempotencyStore {
  readonly #records = new Map<string, MemoryRecord>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: InMemoryIdempotencyStoreOptions = {}) {
    const o = checkOptions<InMemoryIdempotencyStoreOptions>(
      options,
      IN_MEMORY_IDEMPOTENCY_STORE_OPTIONS,
      "InMemoryIdempotencyStore(options)",
    );
    this.#maxEntries = o.maxEntries ?? 10_000;
    this.#now = o.now ?? Date.now;
  }

  /** Number of records held, expired ones included until touched. */
  get size(): number {
    return this.#records.size;
  }

  async claim(key: string, leaseMs: number, options?: ClaimOptions): Promise<ClaimResult> {
    const now = this.#now();
    const record = this.#records.get(key);
    if (record !== undefined && record.expiresAt > now) {
      if (record.value !== undefined) return { status: "completed", value: record.value };
      if (options?.supersedes?.includes(record.token) !== true) return { status: "pending" };
    }
    const token = options?.token ?? randomUUID();
    this.#records.delete(key);
    this.#records.set(key, { token, expiresAt: now + leaseMs });
    this.#evict();
    return { status: "acquired", token };
  }

  async complete(key: string, token: string, value: string, ttlMs: number): Promise<boolean> {
    const record = this.#records.get(key);
    if (record === undefined || record.token !== token || record.value !== undefined) return false;
    this.#records.delete(key);
    this.#records.set(key, { token, expiresAt: this.#now() + ttlMs, value });
    this.#evict();
    return true;
  }

  async release(key: string, token: string): Promise<void> {
    if (this.#records.get(key)?.token === token) this.#records.delete(key);
  }

  /** Drops every record. */
  clear(): void {
    this.#records.clear();
  }

  #evict(): void {
    // Oldest first by insertion (Map order; complete() re-inserts): O(1) per dropped record.
    while (this.#records.size > this.#maxEntries) {
      const oldest = this.#records.keys().next().value as string;
      this.#records.delete(oldest);
    }
  }
}

let defaultStore: IdempotencyStore | undefined;

/** Sets the store used by `withIdempotency` and `runOnce` when none is passed. */
export function setDefaultIdempotencyStore(store: IdempotencyStore): void {
  if (
    typeof store !== "object" ||
    store === null ||
    typeof store.claim !== "function" ||
    typeof store.complete !== "function" ||
    typeof store.release !== "function"
  ) {
    throw new TypeError("setDefaultIdempotencyStore(store): store must implement claim, complete and release");
  }
  defaultStore = store;
}

/** The process default store: the one set by `setDefaultIdempotencyStore`, else a shared in-memory store. */
export function getDefaultIdempotencyStore(): IdempotencyStore {
  defaultStore ??= new InMemoryIdempotencyStore();
  return defaultStore;
}
