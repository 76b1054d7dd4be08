/**
 * `PostgresThreadLockStore`: thread leases for `guardThreads` in PostgreSQL. One row per busy thread (holder, since,
 * expiry) and one row per waiting run (its place in the FIFO, expiring unless renewed); each acquire runs in a
 * transaction serialised per thread by a transaction-scoped advisory lock. Cancels and wake-ups travel by
 * LISTEN/NOTIFY on one dedicated connection per store. Time comes from the database, so skewed replica clocks agree.
 */
import pg from "pg";
import { checkOptions, type OptionSpec, rule } from "../core/options.js";
import type { AcquireResult, ThreadLockMessage, ThreadLockStore } from "../threads/lock-store.js";
import { messageListeners } from "../threads/listeners.js";

/** Options of `PostgresThreadLockStore`: exactly one of `pool` and `connectionString`. */
export interface PostgresThreadLockStoreOptions {
  /** An existing `pg.Pool`; the store never ends it (it keeps one of its connections for LISTEN until `close()`). */
  pool?: pg.Pool;
  /** A connection string; the store creates a pool and `close()` ends it. */
  connectionString?: string;
  /** Pool size when the store creates the pool. Default 10. */
  max?: number;
  /** Lease table, optionally schema-qualified; the queue table is `<table>_queue`. Default `langgraph_ops_thread_locks`. */
  table?: string;
  /** NOTIFY channel shared by the replicas. Default `langgraph_ops_threads`. */
  channel?: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,55}$/;
const isName = (v: unknown) => typeof v === "string" && v.split(".").length <= 2 && v.split(".").every((p) => IDENTIFIER.test(p));

/** @internal The accepted keys of {@link PostgresThreadLockStoreOptions}: validation and the bad-input sweep read it. */
export const POSTGRES_THREAD_LOCK_STORE_OPTIONS = {
  pool: rule.methods("a pg.Pool", "connect", "query"),
  connectionString: rule.string({ nonEmpty: true }),
  max: rule.integer(2, 10_000),
  table: rule.check("an identifier or schema.identifier (letters, digits, _)", isName, ["", "a-b", "a.b.c", "1x", 'x"; drop table y']),
  channel: rule.check("an identifier (letters, digits, _)", (v) => typeof v === "string" && IDENTIFIER.test(v), ["", "a-b", "1x"]),
} as const satisfies OptionSpec<keyof PostgresThreadLockStoreOptions>;

const quote = (name: string) =>
  name
    .split(".")
    .map((p) => `"${p}"`)
    .join(".");

/** Milliseconds from now, in the database's clock. */
const EXPIRY = "clock_timestamp() + $3::double precision * interval '1 millisecond'";

/**
 * A `ThreadLockStore` in PostgreSQL, shared by every replica that uses the same tables.
 * @example
 * const store = new PostgresThreadLockStore({ connectionString: process.env.DATABASE_URL });
 * const graph = guardThreads(builder.compile({ checkpointer }), { store, strategy: "enqueue" });
 */
export class PostgresThreadLockStore implements ThreadLockStore {
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #locks: string;
  readonly #queue: string;
  readonly #channel: string;
  readonly #listeners = messageListeners();
  #ready: Promise<void> | undefined;
  #listener: Promise<pg.PoolClient> | undefined;
  #closed = false;

  constructor(options: PostgresThreadLockStoreOptions) {
    const where = "PostgresThreadLockStore(options)";
    checkOptions(options, POSTGRES_THREAD_LOCK_STORE_OPTIONS, where);
    const { pool, connectionString } = options;
    if ((pool === undefined) === (connectionString === undefined)) {
      throw new TypeError(`${where}: pass exactly one of \`pool\` (a pg.Pool) and \`connectionString\``);
    }
    if (pool !== undefined) {
      if (options.max !== undefined) throw new TypeError(`${where}.max only applies with \`connectionString\`; size your own pool instead`);
      this.#pool = pool;
      this.#ownsPool = false;
    } else {
      this.#pool = new pg.Pool({ connectionString: connectionString as string, max: options.max ?? 10 });
      // An idle client losing its server emits "error" on the pool; unheard, that would crash the process.
      this.#pool.on("error", () => undefined);
      this.#ownsPool = true;
    }
    const table = options.table ?? "langgraph_ops_thread_locks";
    this.#locks = quote(table);
    this.#queue = quote(`${table}_queue`);
    this.#channel = options.channel ?? "langgraph_ops_threads";
  }

  /** Creates the tables when missing; every operation calls it once, so calling it yourself is optional. */
  setup(): Promise<void> {
    this.#ready ??= (async () => {
      const client = await this.#pool.connect();
      try {
        // Replicas starting together: concurrent CREATE TABLE IF NOT EXISTS can still collide on the row type.
        await client.query("BEGIN");
        await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7042))", [this.#locks]);
        await client.query(`CREATE TABLE IF NOT EXISTS ${this.#locks} (
          thread_id text PRIMARY KEY, holder text NOT NULL, since timestamptz NOT NULL, expires_at timestamptz NOT NULL)`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${this.#queue} (
          thread_id text NOT NULL, holder text NOT NULL, seq bigserial, expires_at timestamptz NOT NULL,
          PRIMARY KEY (thread_id, holder))`);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async acquire(threadId: string, holder: string, options: { leaseMs: number; queued: boolean }): Promise<AcquireResult> {
    await this.setup();
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      // Serialises acquires of one thread (two free-thread INSERTs would otherwise race on the queue check).
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7041))", [threadId]);
      const lease = await client.query<{ holder: string; expired: boolean; held_ms: string }>(
        `SELECT holder, expires_at <= clock_timestamp() AS expired,
                floor(extract(epoch FROM clock_timestamp() - since) * 1000)::int8 AS held_ms
           FROM ${this.#locks} WHERE thread_id = $1`,
        [threadId],
      );
      const current = lease.rows[0];
      if (current !== undefined && !current.expired && current.holder !== holder) {
        await client.query("COMMIT");
        return { acquired: false, holder: current.holder, busyForMs: Number(current.held_ms) };
      }
      await client.query(`DELETE FROM ${this.#queue} WHERE thread_id = $1 AND expires_at <= clock_timestamp()`, [threadId]);
      const head = await client.query<{ holder: string }>(`SELECT holder FROM ${this.#queue} WHERE thread_id = $1 ORDER BY seq LIMIT 1`, [
        threadId,
      ]);
      const first = head.rows[0]?.holder;
      if (first !== undefined && (!options.queued || first !== holder)) {
        await client.query("COMMIT");
        return { acquired: false, holder: undefined, busyForMs: 0 };
      }
      await client.query(
        `INSERT INTO ${this.#locks} (thread_id, holder, since, expires_at) VALUES ($1, $2, clock_timestamp(), ${EXPIRY})
         ON CONFLICT (thread_id) DO UPDATE SET holder = EXCLUDED.holder, since = EXCLUDED.since, expires_at = EXCLUDED.expires_at`,
        [threadId, holder, options.leaseMs],
      );
      await client.query(`DELETE FROM ${this.#queue} WHERE thread_id = $1 AND holder = $2`, [threadId, holder]);
      await client.query("COMMIT");
      return { acquired: true, tookOver: current !== undefined && current.holder !== holder };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async renew(threadId: string, holder: string, leaseMs: number): Promise<boolean> {
    await this.setup();
    const result = await this.#pool.query(`UPDATE ${this.#locks} SET expires_at = ${EXPIRY} WHERE thread_id = $1 AND holder = $2`, [
      threadId,
      holder,
      leaseMs,
    ]);
    return result.rowCount === 1;
  }

  async release(threadId: string, holder: string): Promise<void> {
    await this.setup();
    const message: ThreadLockMessage = { type: "released", threadId, holder };
    // The NOTIFY is sent at commit of the same statement: waiters never wake before the row is gone.
    await this.#pool.query(
      `WITH freed AS (DELETE FROM ${this.#locks} WHERE thread_id = $1 AND holder = $2 RETURNING 1)
       SELECT pg_notify($3, $4) FROM freed`,
      [threadId, holder, this.#channel, JSON.stringify(message)],
    );
  }

  async enqueue(threadId: string, holder: string, leaseMs: number): Promise<void> {
    await this.setup();
    await this.#pool.query(
      `INSERT INTO ${this.#queue} (thread_id, holder, expires_at) VALUES ($1, $2, ${EXPIRY})
       ON CONFLICT (thread_id, holder) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      [threadId, holder, leaseMs],
    );
  }

  async dequeue(threadId: string, holder: string): Promise<void> {
    await this.setup();
    await this.#pool.query(`DELETE FROM ${this.#queue} WHERE thread_id = $1 AND holder = $2`, [threadId, holder]);
  }

  async publish(message: ThreadLockMessage): Promise<void> {
    await this.#pool.query("SELECT pg_notify($1, $2)", [this.#channel, JSON.stringify(message)]);
  }

  subscribe(listener: (message: ThreadLockMessage) => void): Promise<() => void> {
    return this.#listeners.add(listener, () => this.#listen());
  }

  /** The LISTEN connection, opened once; when it breaks it is reopened on the next subscribe (waiters poll meanwhile). */
  #listen(): Promise<pg.PoolClient> {
    this.#listener ??= (async () => {
      const client = await this.#pool.connect();
      const drop = (): void => {
        this.#listener = undefined;
        client.release(true);
        if (!this.#closed && this.#listeners.size > 0) setTimeout(() => this.#listen().catch(() => undefined), 500).unref();
      };
      client.on("error", drop);
      client.on("notification", (n) => {
        if (n.channel === this.#channel && n.payload !== undefined) this.#listeners.deliver(n.payload);
      });
      await client.query(`LISTEN "${this.#channel}"`);
      return client;
    })().catch((error: unknown) => {
      this.#listener = undefined;
      throw error;
    });
    return this.#listener;
  }

  /** Closes the LISTEN connection, and the pool when the store created it. */
  async close(): Promise<void> {
    this.#closed = true;
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener !== undefined) {
      const client = await listener.catch(() => undefined);
      client?.release(true);
    }
    if (this.#ownsPool) await this.#pool.end();
  }
}
