/**
 * `langgraph-ops/postgres`: an idempotency store in PostgreSQL, shared by every replica that uses the same table.
 * One row per key holds either a lease (token + expiry) or the finished result's JSON text (+ expiry = TTL).
 * Time comes from the database (`now()`), so replicas with skewed clocks agree on when a lease or result expires.
 */
import { createHash, randomUUID } from "node:crypto";
import pg from "pg";
import { checkOptions, type OptionSpec, rule } from "../core/options.js";
import { IdempotencyStoreError } from "../resilience/errors.js";
import type { ClaimOptions, ClaimResult, IdempotencyStore } from "../resilience/idempotency-store.js";
import { type OperationDeadline, operationTimeoutOption, startDeadline, storeTimeoutError } from "../resilience/store-deadline.js";

/** The part of a `pg` pool client the store uses; `release(error)` must drop the connection (as `pg.Pool`'s does). */
export interface PgPoolClientLike {
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
  release(error?: Error | boolean): void;
}

/** The part of a `pg.Pool` the store uses; a `pg.Pool` fits. */
export interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>;
  end(): Promise<void>;
}

/** Options of `PostgresIdempotencyStore`: exactly one of `pool` and `connectionString`. */
export interface PostgresIdempotencyStoreOptions {
  /** An existing `pg.Pool`; the store never ends it. */
  pool?: PgPoolLike;
  /** A connection string; the store creates a pool and `close()` ends it. */
  connectionString?: string;
  /** Pool size when the store creates the pool. Default 10. */
  max?: number;
  /** Table name, optionally schema-qualified (`ops.idempotency`). Default `langgraph_ops_idempotency`. */
  table?: string;
  /** How often expired rows are deleted, in ms; 0 turns the sweep off (call `sweep()` yourself). Default 60_000. */
  sweepIntervalMs?: number;
  /** Most rows one sweep deletes, so a backlog never holds long locks. Default 1000. */
  sweepBatch?: number;
  /**
   * Use named prepared statements (parsed once per connection). Turn off behind a pooler in transaction mode that
   * does not track them (PgBouncer before 1.21). Default true.
   */
  prepared?: boolean;
  /**
   * Deadline of each operation (claim, complete, release, sweep, setup, close), in ms, from asking the pool for a
   * connection to the answer. Past it the operation fails with an `IdempotencyStoreError` (`timeoutMs` set, retryable)
   * and the connection is dropped, so a frozen server cannot hold a run or a pool slot. A pool the store creates also
   * gets it as `connectionTimeoutMillis` and `statement_timeout`. Default 5000.
   */
  operationTimeoutMs?: number;
}

const STORE = "PostgresIdempotencyStore";
/**
 * @internal The accepted keys of {@link PostgresIdempotencyStoreOptions}: validation and the bad-input sweep read it.
 * `operationTimeoutMs` bounds each store operation.
 */
export const POSTGRES_IDEMPOTENCY_STORE_OPTIONS = {
  pool: rule.methods("a pg.Pool", "connect"),
  connectionString: rule.string({ nonEmpty: true }),
  max: rule.integer(1, 10_000),
  table: rule.check(
    "an identifier or schema.identifier (letters, digits, _)",
    (v) => typeof v === "string" && v.split(".").length <= 2 && v.split(".").every((p) => IDENTIFIER.test(p)),
    ["", "a-b", "a.b.c", "1x", 'x"; drop table y'],
  ),
  sweepIntervalMs: rule.integer(0, 2_147_483_647),
  sweepBatch: rule.integer(1, 1_000_000),
  prepared: rule.boolean(),
  operationTimeoutMs: rule.integer(1, 2_147_483_647),
} as const satisfies OptionSpec<keyof PostgresIdempotencyStoreOptions>;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Longest key stored verbatim; longer ones are hashed so they fit a btree index entry (~2.7 kB). */
const MAX_PLAIN_KEY = 512;
/** Keys Postgres text cannot hold exactly (NUL, lone surrogates) or that could collide with a hashed key. */
const LONE_SURROGATE = /\p{Surrogate}/u;
function needsHash(key: string): boolean {
  return key.length > MAX_PLAIN_KEY || key.includes("\u0000") || key.includes("\u0001") || LONE_SURROGATE.test(key);
}
/** Schema versions applied by `setup()`, in order; each must be idempotent. */
const MIGRATIONS = (table: string, index: string): string[] => [
  `CREATE TABLE IF NOT EXISTS ${table} (
     key text PRIMARY KEY,
     token text NOT NULL,
     value text,
     expires_at timestamptz NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX IF NOT EXISTS ${index} ON ${table} (expires_at)`,
];

/** Wraps a driver error so the message names the store and the operation; the original stays as `cause` (and its `code`). */
function storeError(operation: string, error: unknown): Error {
  if (error instanceof IdempotencyStoreError) return error;
  const cause = error instanceof Error ? error : new Error(String(error));
  const code = (cause as { code?: unknown }).code;
  return new IdempotencyStoreError(STORE, operation, cause.message || String(cause), {
    cause,
    ...(typeof code === "string" ? { code } : {}),
  });
}

/** Runs queries on one pooled connection under the operation's deadline. */
type Session = (statement: { name?: string; text: string; values?: unknown[] }) => Promise<{ rows: unknown[]; rowCount: number | null }>;

/**
 * An `IdempotencyStore` backed by a PostgreSQL table. Call `await store.setup()` once before use: it creates (or
 * migrates) the table and starts the background sweep of expired rows.
 * @example
 * const store = new PostgresIdempotencyStore({ connectionString: process.env.DATABASE_URL });
 * await store.setup();
 * setDefaultIdempotencyStore(store);
 */
export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly #pool: PgPoolLike;
  readonly #ownsPool: boolean;
  readonly #table: string;
  readonly #lockId: string;
  readonly #sweepIntervalMs: number;
  readonly #sweepBatch: number;
  readonly #timeoutMs: number;
  readonly #sql: Record<"claim" | "complete" | "release" | "sweep", { name?: string; text: string }>;
  #timer: ReturnType<typeof setInterval> | undefined;
  #sweeping = false;

  constructor(options: PostgresIdempotencyStoreOptions) {
    const where = "PostgresIdempotencyStore(options)";
    checkOptions(options, POSTGRES_IDEMPOTENCY_STORE_OPTIONS, where);
    const { pool, connectionString } = options;
    this.#timeoutMs = operationTimeoutOption(options.operationTimeoutMs, where);
    if ((pool === undefined) === (connectionString === undefined)) {
      throw new TypeError(`${where}: pass exactly one of \`pool\` (a pg.Pool) and \`connectionString\``);
    }
    if (pool !== undefined) {
      if (options.max !== undefined) throw new TypeError(`${where}.max only applies with \`connectionString\`; size your own pool instead`);
      this.#pool = pool;
      this.#ownsPool = false;
    } else {
      // The driver's own limits back the store's deadline: a connect that never completes is torn down, and a
      // statement the store gave up on stops on the server instead of holding its row locks.
      const created = new pg.Pool({
        connectionString: connectionString as string,
        max: options.max ?? 10,
        connectionTimeoutMillis: this.#timeoutMs,
        statement_timeout: this.#timeoutMs,
      });
      // An idle client losing its server emits "error" on the pool; unheard, that would crash the process.
      created.on("error", () => undefined);
      this.#pool = created as unknown as PgPoolLike;
      this.#ownsPool = true;
    }
    this.#table = (options.table ?? "langgraph_ops_idempotency")
      .split(".")
      .map((p) => `"${p}"`)
      .join(".");
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    this.#sweepBatch = options.sweepBatch ?? 1000;
    const prepared = options.prepared ?? true;
    // Named statements are parsed once per connection; the name carries the table so two stores never clash.
    const tag = createHash("sha1").update(this.#table).digest("hex").slice(0, 12);
    this.#lockId = `x'${tag}'`;
    const t = this.#table;
    this.#sql = {
      claim: {
        name: `lgops_claim_${tag}`,
        // One round trip: take the key when it is free, expired or leased under one of the caller's own earlier
        // tokens ($4), else report the live row. The outer SELECT reads the statement's snapshot, so a row committed
        // concurrently may be missed: that reads as "pending" and the caller polls again, which is safe.
        text: `WITH claimed AS (
                 INSERT INTO ${t} AS r (key, token, value, expires_at)
                 VALUES ($1, $2, NULL, now() + $3::double precision * interval '1 millisecond')
                 ON CONFLICT (key) DO UPDATE
                   SET token = EXCLUDED.token, value = NULL, expires_at = EXCLUDED.expires_at, created_at = now()
                   WHERE r.expires_at <= now() OR (r.value IS NULL AND r.token = ANY ($4::text[]))
                 RETURNING 1
               )
               SELECT EXISTS (SELECT 1 FROM claimed) AS acquired,
                      (SELECT value FROM ${t} WHERE key = $1 AND expires_at > now()) AS value`,
      },
      complete: {
        name: `lgops_complete_${tag}`,
        text: `UPDATE ${t} SET value = $3, expires_at = now() + $4::double precision * interval '1 millisecond'
               WHERE key = $1 AND token = $2 AND value IS NULL`,
      },
      release: { name: `lgops_release_${tag}`, text: `DELETE FROM ${t} WHERE key = $1 AND token = $2 AND value IS NULL` },
      sweep: {
        name: `lgops_sweep_${tag}`,
        text: `DELETE FROM ${t} WHERE key IN (SELECT key FROM ${t} WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      },
    };
    if (!prepared) for (const statement of Object.values(this.#sql)) delete statement.name;
  }

  /** The quoted table name the store uses. */
  get table(): string {
    return this.#table;
  }

  /** The deadline of each operation, in ms (`operationTimeoutMs`). */
  get operationTimeoutMs(): number {
    return this.#timeoutMs;
  }

  /**
   * Creates or migrates the table (safe to run from several replicas at once: the migration holds a transaction-level
   * advisory lock) and starts the background sweep. Idempotent.
   */
  async setup(): Promise<void> {
    await this.#session("setup", async (query) => {
      await query({ text: "BEGIN" });
      try {
        await query({ text: `SELECT pg_advisory_xact_lock((${this.#lockId})::bigint)` });
        const index = `${this.#table.replaceAll('"', "").replaceAll(".", "_")}_expires_at_idx`;
        for (const statement of MIGRATIONS(this.#table, `"${index}"`)) await query({ text: statement });
        await query({ text: "COMMIT" });
      } catch (error) {
        // Past the deadline the connection is dropped, which ends the transaction on the server.
        if (!(error instanceof IdempotencyStoreError && error.timeoutMs !== undefined))
          await query({ text: "ROLLBACK" }).catch(() => undefined);
        throw error;
      }
    });
    if (this.#sweepIntervalMs > 0 && this.#timer === undefined) {
      this.#timer = setInterval(() => {
        if (this.#sweeping) return;
        this.#sweeping = true;
        // A failed sweep is retried on the next tick; it must never surface as an unhandled rejection.
        this.sweep()
          .catch(() => undefined)
          .finally(() => {
            this.#sweeping = false;
          });
      }, this.#sweepIntervalMs);
      this.#timer.unref();
    }
  }

  /**
   * Takes `key` for `leaseMs` when it is free, its lease or TTL has expired, or its lease is one of
   * `options.supersedes`; else reports the result or the live lease.
   */
  async claim(key: string, leaseMs: number, options?: ClaimOptions): Promise<ClaimResult> {
    const token = options?.token ?? randomUUID();
    const supersedes = options?.supersedes ?? [];
    const result = await this.#session("claim", (query) =>
      query({ ...this.#sql.claim, values: [rowKey(key), token, leaseMs, supersedes] }),
    );
    const row = result.rows[0] as { acquired: boolean; value: string | null } | undefined;
    if (row?.acquired) return { status: "acquired", token };
    if (typeof row?.value === "string") return { status: "completed", value: row.value };
    return { status: "pending" };
  }

  /** Records `value` for `ttlMs` if `token` still holds the lease; false otherwise (released or taken over). */
  async complete(key: string, token: string, value: string, ttlMs: number): Promise<boolean> {
    const result = await this.#session("complete", (query) => query({ ...this.#sql.complete, values: [rowKey(key), token, value, ttlMs] }));
    return result.rowCount === 1;
  }

  /** Frees the key after a failed attempt, if `token` still holds the lease. */
  async release(key: string, token: string): Promise<void> {
    await this.#session("release", (query) => query({ ...this.#sql.release, values: [rowKey(key), token] }));
  }

  /** Deletes up to `sweepBatch` expired rows (finished results past their TTL, abandoned leases); returns how many. */
  async sweep(): Promise<number> {
    const result = await this.#session("sweep", (query) => query({ ...this.#sql.sweep, values: [this.#sweepBatch] }));
    return result.rowCount ?? 0;
  }

  /**
   * Stops the sweep and ends the pool when the store created it (a pool passed in stays open). Bounded by
   * `operationTimeoutMs`: connections to a frozen server are left to close when it answers again.
   */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (!this.#ownsPool) return;
    const deadline = startDeadline(this.#timeoutMs, () => storeTimeoutError(STORE, "close", this.#timeoutMs));
    try {
      await deadline.race(this.#pool.end());
    } catch (error) {
      throw storeError("close", error);
    } finally {
      deadline.clear();
    }
  }

  /**
   * Runs `body` on one pooled connection under one deadline, from asking the pool to the last answer. Past the
   * deadline the caller gets the timeout error at once; the connection is released with an error, which makes the
   * pool destroy its socket, so a late answer is never read and a frozen server keeps no pool slot. A connection the
   * pool hands over after the deadline goes straight back.
   */
  async #session<T>(operation: string, body: (query: Session) => Promise<T>): Promise<T> {
    const deadline: OperationDeadline = startDeadline(this.#timeoutMs, () => storeTimeoutError(STORE, operation, this.#timeoutMs));
    let client: PgPoolClientLike | undefined;
    try {
      client = await deadline.race(this.#pool.connect(), (late) => late.release());
      const held = client;
      const result = await body((statement) => deadline.race(held.query(statement)));
      client.release();
      return result;
    } catch (error) {
      const wrapped = storeError(operation, error);
      client?.release(wrapped);
      throw wrapped;
    } finally {
      deadline.clear();
    }
  }
}

/** The primary-key text for `key`: verbatim when Postgres can store and index it exactly, else a SHA-256 digest. */
function rowKey(key: string): string {
  if (!needsHash(key)) return key;
  return `\u0001sha256:${createHash("sha256").update(key, "utf16le").digest("hex")}`;
}

export {
  PostgresThreadLockStore,
  POSTGRES_THREAD_LOCK_STORE_OPTIONS,
  type PostgresThreadLockStoreOptions,
} from "./postgres-thread-lock.js";
