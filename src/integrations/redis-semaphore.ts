/**
 * `RedisSemaphoreStore`: the slots of a fleet-wide bulkhead in Redis. Each bulkhead name is one sorted set of holders
 * scored by their lease's expiry; taking a slot drops expired leases and counts the live ones in one script, so a
 * killed process's slots come back once their lease runs out. Releases are announced on a channel as wake-ups for
 * waiting callers. A failed operation publishes `storeError`; the bulkhead then runs the call on its local limit.
 */
import type { Cluster, Redis } from "ioredis";
import { CHANNELS, publish } from "../core/events.js";
import { checkOptions, type OptionSpec, rule } from "../core/options.js";
import type { SemaphoreStore } from "../resilience/semaphore-store.js";
import { startDeadline, storeTimeoutError } from "../resilience/store-deadline.js";
import {
  evalScript,
  LUA_NOW_MS,
  openRedisConnection,
  type RedisConnection,
  type RedisConnectionOptions,
  redisConnectionRules,
  type RedisScript,
  redisScript,
} from "./redis-connection.js";

/** Options of `RedisSemaphoreStore`: exactly one of `client` and `url`. */
export interface RedisSemaphoreStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key and of the pub/sub channel. Default `langgraph-ops:bulkhead:`. */
  keyPrefix?: string;
  /** Lease of a slot in ms: how long a killed holder's slot stays taken. Holders renew every third of it. Default 30_000. */
  leaseMs?: number;
  /** Deadline of each Redis operation in ms; past it the call runs on the local limit. Default 1000. */
  operationTimeoutMs?: number;
}

const STORE = "RedisSemaphoreStore";

/** @internal The accepted keys of {@link RedisSemaphoreStoreOptions}: validation and the bad-input sweep read it. */
export const REDIS_SEMAPHORE_STORE_OPTIONS = {
  ...redisConnectionRules("evalsha", "duplicate"),
  keyPrefix: rule.string(),
  leaseMs: rule.integer(3, 2_147_483_647),
  operationTimeoutMs: rule.integer(1, 2_147_483_647),
} as const satisfies OptionSpec<keyof RedisSemaphoreStoreOptions>;

const NOW = LUA_NOW_MS;
// KEYS: slots. ARGV: holder, limit, leaseMs.
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
  return 1
end
return 0`;
// KEYS: slots. ARGV: holder, leaseMs.
const RENEW = `${NOW}
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expiry or tonumber(expiry) <= now then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1`;
// KEYS: slots. ARGV: holder, channel, name.
const RELEASE = `redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;
const SCRIPTS = { acquire: redisScript(ACQUIRE), renew: redisScript(RENEW), release: redisScript(RELEASE) };

/**
 * A `SemaphoreStore` in Redis, shared by every process using the same server, key prefix and bulkhead name.
 * @example
 * const slots = new RedisSemaphoreStore({ url: process.env.REDIS_URL, leaseMs: 10_000 });
 * builder.addNode("call_model", withBulkhead(callModel, { name: "openai", limit: 8, queue: 32, store: slots }));
 */
export class RedisSemaphoreStore implements SemaphoreStore {
  readonly leaseMs: number;
  readonly #connection: RedisConnection;
  readonly #client: Redis | Cluster;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #timeoutMs: number;
  readonly #listeners = new Map<string, Set<() => void>>();
  #subscriber: Redis | Cluster | undefined;

  constructor(options: RedisSemaphoreStoreOptions) {
    const where = `${STORE}(options)`;
    checkOptions(options, REDIS_SEMAPHORE_STORE_OPTIONS, where);
    this.#prefix = options.keyPrefix ?? "langgraph-ops:bulkhead:";
    this.#channel = `${this.#prefix}released`;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.#timeoutMs = options.operationTimeoutMs ?? 1000;
    this.#connection = openRedisConnection(options, where);
    this.#client = this.#connection.client;
  }

  async #run(operation: string, script: RedisScript, name: string, args: Array<string | number>): Promise<unknown> {
    const timeoutMs = this.#timeoutMs;
    const deadline = startDeadline(timeoutMs, () => storeTimeoutError(STORE, operation, timeoutMs));
    try {
      return await evalScript(this.#client, script, [`${this.#prefix}{${name}}:slots`], args, (w) => deadline.race(w));
    } catch (error) {
      publish(CHANNELS.storeError, { store: STORE, operation, error: error instanceof Error ? error : new Error(String(error)) });
      throw error;
    } finally {
      deadline.clear();
    }
  }

  async acquire(name: string, holder: string, limit: number): Promise<boolean> {
    return (await this.#run("acquire", SCRIPTS.acquire, name, [holder, limit, this.leaseMs])) === 1;
  }

  async renew(name: string, holder: string): Promise<boolean> {
    return (await this.#run("renew", SCRIPTS.renew, name, [holder, this.leaseMs])) === 1;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.#run("release", SCRIPTS.release, name, [holder, this.#channel, name]);
  }

  onRelease(name: string, listener: () => void): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener);
    this.#listen();
    return () => set.delete(listener);
  }

  /** One subscriber connection for the wake-ups; losing it only delays waiters until their next poll. */
  #listen(): void {
    if (this.#subscriber !== undefined) return;
    const sub = this.#client.duplicate();
    this.#subscriber = sub;
    sub.on("error", () => undefined);
    sub.on("message", (channel: string, name: string) => {
      if (channel !== this.#channel) return;
      for (const listener of [...(this.#listeners.get(name) ?? [])]) listener();
    });
    sub.subscribe(this.#channel).catch(() => undefined);
  }

  /** Closes the subscriber, and the client when the store created it. */
  async close(): Promise<void> {
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    await this.#connection.close();
  }
}
