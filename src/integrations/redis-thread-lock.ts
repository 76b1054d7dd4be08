/**
 * `RedisThreadLockStore`: thread leases for `guardThreads` in Redis. A thread's lease is one key (`holder|since`,
 * expiring by `PX`), its FIFO of waiters a sorted set plus a hash of their expiries, and a marker key remembers the
 * last holder so that taking over an expired lease is told apart from taking a released one. Each operation is one
 * Lua script over one thread's keys (one hash tag, so it works on Cluster too). Cancels and wake-ups use pub/sub.
 */
import type { Cluster, Redis } from "ioredis";
import { checkOptions, type OptionSpec, rule } from "../core/options.js";
import type { AcquireResult, ThreadLockMessage, ThreadLockStore } from "../threads/lock-store.js";
import { messageListeners } from "../threads/listeners.js";
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

/** Options of `RedisThreadLockStore`: exactly one of `client` and `url`. */
export interface RedisThreadLockStoreOptions extends RedisConnectionOptions {
  /** An existing ioredis client; the store never closes it (it opens one duplicate for pub/sub until `close()`). */
  client?: Redis | Cluster;
  /** Prefix of every key and of the pub/sub channel. Default `langgraph-ops:threads:`. */
  keyPrefix?: string;
}

/** @internal The accepted keys of {@link RedisThreadLockStoreOptions}: validation and the bad-input sweep read it. */
export const REDIS_THREAD_LOCK_STORE_OPTIONS = {
  ...redisConnectionRules("evalsha", "duplicate"),
  keyPrefix: rule.string(),
} as const satisfies OptionSpec<keyof RedisThreadLockStoreOptions>;

const NOW = LUA_NOW_MS;
// KEYS: lease, last holder, queue, queue expiries. ARGV: holder, leaseMs, queued ("1"/"0").
const ACQUIRE = `${NOW}
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  local h = string.sub(cur, 1, sep - 1)
  if h ~= ARGV[1] then return {0, h, now - tonumber(string.sub(cur, sep + 1))} end
end
local head = false
for _, m in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  local e = tonumber(redis.call('HGET', KEYS[4], m) or '0')
  if e <= now then
    redis.call('ZREM', KEYS[3], m)
    redis.call('HDEL', KEYS[4], m)
  elseif not head then head = m end
end
if head and (ARGV[3] ~= '1' or head ~= ARGV[1]) then return {0, '', 0} end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
local prev = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. now, 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', 86400000)
if prev and prev ~= ARGV[1] then return {1, 1} end
return {1, 0}`;
// KEYS: lease. ARGV: holder, leaseMs.
const RENEW = `local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;
// KEYS: lease, last holder. ARGV: holder, channel, message.
const RELEASE = `local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0`;
// KEYS: queue, queue expiries. ARGV: holder, leaseMs. A new waiter goes last (server time in µs); a known one keeps its place.
const ENQUEUE = `local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], 'NX', tonumber(t[1]) * 1000000 + tonumber(t[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) * 2)
return 1`;
const DEQUEUE = `redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`;

const SCRIPTS = {
  acquire: redisScript(ACQUIRE),
  renew: redisScript(RENEW),
  release: redisScript(RELEASE),
  enqueue: redisScript(ENQUEUE),
  dequeue: redisScript(DEQUEUE),
};

/**
 * A `ThreadLockStore` in Redis, shared by every replica that uses the same server and key prefix.
 * @example
 * const store = new RedisThreadLockStore({ url: process.env.REDIS_URL });
 * const graph = guardThreads(builder.compile({ checkpointer }), { store, strategy: "interrupt" });
 */
export class RedisThreadLockStore implements ThreadLockStore {
  readonly #connection: RedisConnection;
  readonly #client: Redis | Cluster;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #listeners = messageListeners();
  #subscriber: Promise<Redis | Cluster> | undefined;

  constructor(options: RedisThreadLockStoreOptions) {
    const where = "RedisThreadLockStore(options)";
    checkOptions(options, REDIS_THREAD_LOCK_STORE_OPTIONS, where);
    this.#prefix = options.keyPrefix ?? "langgraph-ops:threads:";
    this.#channel = `${this.#prefix}events`;
    this.#connection = openRedisConnection(options, where);
    this.#client = this.#connection.client;
  }

  /** One hash tag per thread: every script touches one slot. */
  #keys(threadId: string): [string, string, string, string] {
    const tag = `${this.#prefix}{${threadId}}`;
    return [`${tag}:lease`, `${tag}:last`, `${tag}:queue`, `${tag}:queue-expiry`];
  }

  #run(s: RedisScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    return evalScript(this.#client, s, keys, args);
  }

  async acquire(threadId: string, holder: string, options: { leaseMs: number; queued: boolean }): Promise<AcquireResult> {
    const reply = (await this.#run(SCRIPTS.acquire, this.#keys(threadId), [holder, options.leaseMs, options.queued ? "1" : "0"])) as [
      number,
      number | string,
      number?,
    ];
    if (reply[0] === 1) return { acquired: true, tookOver: reply[1] === 1 };
    return { acquired: false, holder: reply[1] === "" ? undefined : String(reply[1]), busyForMs: Number(reply[2] ?? 0) };
  }

  async renew(threadId: string, holder: string, leaseMs: number): Promise<boolean> {
    const [lease] = this.#keys(threadId);
    return (await this.#run(SCRIPTS.renew, [lease], [holder, leaseMs])) === 1;
  }

  async release(threadId: string, holder: string): Promise<void> {
    const [lease, last] = this.#keys(threadId);
    const message: ThreadLockMessage = { type: "released", threadId, holder };
    await this.#run(SCRIPTS.release, [lease, last], [holder, this.#channel, JSON.stringify(message)]);
  }

  async enqueue(threadId: string, holder: string, leaseMs: number): Promise<void> {
    const [, , queue, expiry] = this.#keys(threadId);
    await this.#run(SCRIPTS.enqueue, [queue, expiry], [holder, leaseMs]);
  }

  async dequeue(threadId: string, holder: string): Promise<void> {
    const [, , queue, expiry] = this.#keys(threadId);
    await this.#run(SCRIPTS.dequeue, [queue, expiry], [holder]);
  }

  async publish(message: ThreadLockMessage): Promise<void> {
    await this.#client.publish(this.#channel, JSON.stringify(message));
  }

  subscribe(listener: (message: ThreadLockMessage) => void): Promise<() => void> {
    return this.#listeners.add(listener, () => this.#listen());
  }

  /** A duplicate connection in subscriber mode; ioredis resubscribes by itself after a reconnect. */
  #listen(): Promise<Redis | Cluster> {
    this.#subscriber ??= (async () => {
      const sub = this.#client.duplicate();
      sub.on("error", () => undefined);
      sub.on("message", (channel: string, payload: string) => {
        if (channel === this.#channel) this.#listeners.deliver(payload);
      });
      await sub.subscribe(this.#channel);
      return sub;
    })().catch((error: unknown) => {
      this.#subscriber = undefined;
      throw error;
    });
    return this.#subscriber;
  }

  /** Closes the pub/sub connection, and the client when the store created it. */
  async close(): Promise<void> {
    const sub = await this.#subscriber?.catch(() => undefined);
    this.#subscriber = undefined;
    sub?.disconnect();
    await this.#connection.close();
  }
}
