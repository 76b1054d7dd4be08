/**
 * `langgraph-ops/redis`: an idempotency store in Redis. A key holds `L<token>` while leased (`SET NX PX`, so it
 * expires on its own when the holder dies) and `V<json>` once done (with the result's TTL). Completing and releasing
 * compare the token and write in one Lua script, so a holder whose lease was taken over cannot overwrite the new one.
 */
import { createHash, randomUUID } from "node:crypto";
import { checkOptions, type OptionSpec, rule } from "../core/options.js";
import { IdempotencyStoreError } from "../resilience/errors.js";
import type { ClaimOptions, ClaimResult, IdempotencyStore } from "../resilience/idempotency-store.js";
import { operationTimeoutOption, startDeadline, storeTimeoutError } from "../resilience/store-deadline.js";
import {
  evalScript,
  openRedisConnection,
  type RedisConnection,
  type RedisConnectionOptions,
  redisConnectionRules,
  type RedisScript,
  redisScript,
} from "./redis-connection.js";

/** Options of `RedisIdempotencyStore`: exactly one of `client` and `url`. */
export interface RedisIdempotencyStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key the store writes. Default `langgraph-ops:idem:`. */
  keyPrefix?: string;
  /**
   * Deadline of each operation (claim, complete, release, setup, close), in ms. Past it the operation fails with an
   * `IdempotencyStoreError` (`timeoutMs` set, retryable); the command's late reply is dropped, and a claim that the
   * server granted after all is released. Default 5000.
   */
  operationTimeoutMs?: number;
}

const STORE = "RedisIdempotencyStore";
/**
 * @internal The accepted keys of {@link RedisIdempotencyStoreOptions}: validation and the bad-input sweep read it.
 * `operationTimeoutMs` bounds each store operation.
 */
export const REDIS_IDEMPOTENCY_STORE_OPTIONS = {
  ...redisConnectionRules("evalsha"),
  keyPrefix: rule.string(),
  operationTimeoutMs: rule.integer(1, 2_147_483_647),
} as const satisfies OptionSpec<keyof RedisIdempotencyStoreOptions>;

// Sets the lease only when the key is absent (SET NX PX) or leased under one of the caller's earlier tokens (ARGV[3..]),
// else reports what is there, in one round trip.
const CLAIM = `local ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
if ok then return 'A' end
local v = redis.call('GET', KEYS[1])
if v == false then return 'P' end
for i = 3, #ARGV do
  if v == ARGV[i] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 'A'
  end
end
return v`;
const COMPLETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const SCRIPTS = { claim: redisScript(CLAIM), complete: redisScript(COMPLETE), release: redisScript(RELEASE) };

const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * The Redis key for `key`. Strings travel as UTF-8, which turns every lone surrogate into U+FFFD, so two distinct keys
 * could meet; those (and keys that could pass for a digest) are stored by their SHA-256 over the UTF-16 code units.
 */
function storedKey(key: string): string {
  if (!key.includes("\u0001") && !LONE_SURROGATE.test(key)) return key;
  return `\u0001sha256:${createHash("sha256").update(key, "utf16le").digest("hex")}`;
}

function storeError(operation: string, error: unknown, connectionError: Error | undefined): Error {
  if (error instanceof IdempotencyStoreError) return error;
  const cause = error instanceof Error ? error : new Error(String(error));
  const why = connectionError === undefined ? "" : ` (last connection error: ${connectionError.message})`;
  const code = (cause as { code?: unknown }).code ?? (connectionError as { code?: unknown } | undefined)?.code;
  return new IdempotencyStoreError(STORE, operation, `${cause.message || String(cause)}${why}`, {
    cause,
    ...(typeof code === "string" ? { code } : {}),
  });
}

/**
 * An `IdempotencyStore` backed by Redis: leases expire by themselves (`PX`), results keep their TTL. Works with a
 * single server, Sentinel or Cluster (each operation touches one key).
 * @example
 * const store = new RedisIdempotencyStore({ url: process.env.REDIS_URL });
 * setDefaultIdempotencyStore(store);
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #connection: RedisConnection;
  readonly #prefix: string;
  readonly #timeoutMs: number;

  constructor(options: RedisIdempotencyStoreOptions) {
    const where = "RedisIdempotencyStore(options)";
    checkOptions(options, REDIS_IDEMPOTENCY_STORE_OPTIONS, where);
    this.#prefix = options.keyPrefix ?? "langgraph-ops:idem:";
    this.#timeoutMs = operationTimeoutOption(options.operationTimeoutMs, where);
    this.#connection = openRedisConnection(options, where);
  }

  /** The deadline of each operation, in ms (`operationTimeoutMs`). */
  get operationTimeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Nothing to create in Redis; checks the connection so start-up fails early with a clear error. */
  async setup(): Promise<void> {
    const deadline = startDeadline(this.#timeoutMs, () => storeTimeoutError(STORE, "setup", this.#timeoutMs));
    try {
      await deadline.race(this.#connection.client.ping());
    } catch (error) {
      throw storeError("setup", error, this.#connection.lastError());
    } finally {
      deadline.clear();
    }
  }

  /**
   * Takes `key` for `leaseMs` when it is free, its lease or TTL has expired, or its lease is one of
   * `options.supersedes`; else reports the result or the live lease.
   */
  async claim(key: string, leaseMs: number, options?: ClaimOptions): Promise<ClaimResult> {
    const token = options?.token ?? randomUUID();
    const superseded = (options?.supersedes ?? []).map((t) => `L${t}`);
    // A grant that arrives after the deadline belongs to nobody: hand the lease back.
    const onLate = (late: unknown): void => {
      if (late === "A") this.release(key, token).catch(() => undefined);
    };
    const reply = String(await this.#run("claim", SCRIPTS.claim, key, [`L${token}`, leaseMs, ...superseded], onLate));
    if (reply === "A") return { status: "acquired", token };
    if (reply.startsWith("V")) return { status: "completed", value: reply.slice(1) };
    return { status: "pending" };
  }

  /** Records `value` for `ttlMs` if `token` still holds the lease; false otherwise (released or taken over). */
  async complete(key: string, token: string, value: string, ttlMs: number): Promise<boolean> {
    return Number(await this.#run("complete", SCRIPTS.complete, key, [`L${token}`, `V${value}`, ttlMs])) === 1;
  }

  /** Frees the key after a failed attempt, if `token` still holds the lease. */
  async release(key: string, token: string): Promise<void> {
    await this.#run("release", SCRIPTS.release, key, [`L${token}`]);
  }

  /**
   * Quits the client when the store created it (a client passed in stays open); a server that does not answer the
   * QUIT within `operationTimeoutMs` gets its connection closed instead.
   */
  async close(): Promise<void> {
    if (!this.#connection.owned) return;
    const deadline = startDeadline(this.#timeoutMs, () => storeTimeoutError(STORE, "close", this.#timeoutMs));
    try {
      await deadline.race(this.#connection.close());
    } catch {
      this.#connection.client.disconnect();
    } finally {
      deadline.clear();
    }
  }

  /**
   * One script call under the operation's deadline. ioredis keeps a command whose caller gave up in its queue and
   * matches replies in order, so a late reply never lands on another command; it goes to `onLate`.
   */
  async #run(
    operation: string,
    s: RedisScript,
    key: string,
    args: Array<string | number>,
    onLate?: (reply: unknown) => void,
  ): Promise<unknown> {
    const redisKey = this.#prefix + storedKey(key);
    const deadline = startDeadline(this.#timeoutMs, () => storeTimeoutError(STORE, operation, this.#timeoutMs));
    try {
      return await evalScript(this.#connection.client, s, [redisKey], args, (work) => deadline.race(work, onLate));
    } catch (error) {
      throw storeError(operation, error, this.#connection.lastError());
    } finally {
      deadline.clear();
    }
  }
}

export { RedisThreadLockStore, REDIS_THREAD_LOCK_STORE_OPTIONS, type RedisThreadLockStoreOptions } from "./redis-thread-lock.js";
export { RedisBreakerStore, REDIS_BREAKER_STORE_OPTIONS, type RedisBreakerStoreOptions } from "./redis-breaker.js";
export { RedisSemaphoreStore, REDIS_SEMAPHORE_STORE_OPTIONS, type RedisSemaphoreStoreOptions } from "./redis-semaphore.js";
export { RedisRateLimitStore, REDIS_RATE_LIMIT_STORE_OPTIONS, type RedisRateLimitStoreOptions } from "./redis-rate-limit.js";
