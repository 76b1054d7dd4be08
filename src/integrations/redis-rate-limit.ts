/**
 * `RedisRateLimitStore`: rate limiters' state shared by a fleet. A limiter is one hash (`r`, `t`: the request and
 * token arrival times of gcra.ts) under a key with the limiter's name as its hash tag, so a Cluster keeps each
 * limiter on one slot. Every operation is one Lua script on the server's clock (`TIME`), so replicas' clocks never
 * meet: an acquire is one round trip that decides and reserves atomically.
 */
import { checkOptions, type OptionSpec, rule } from "../core/options.js";
import { IdempotencyStoreError } from "../resilience/errors.js";
import type { GcraDecision, GcraRule } from "../resilience/gcra.js";
import type { RateLimitAcquire, RateLimitStore } from "../resilience/rate-limit-store.js";
import { startDeadline, storeTimeoutError } from "../resilience/store-deadline.js";
import {
  evalScript,
  openRedisConnection,
  type RedisConnection,
  type RedisConnectionOptions,
  redisConnectionRules,
  type RedisScript,
  redisScript,
} from "./redis-connection.js";

/** Options of `RedisRateLimitStore`: exactly one of `client` and `url`. */
export interface RedisRateLimitStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key the store writes. Default `langgraph-ops:ratelimit:`. */
  keyPrefix?: string;
  /**
   * Deadline of each operation in ms. Past it the limiter takes the store for unreachable and decides locally (the
   * call is not failed); the late reply is dropped. Default 500: a limiter sits on every provider call.
   */
  operationTimeoutMs?: number;
}

const STORE = "RedisRateLimitStore";
const DEFAULT_TIMEOUT_MS = 500;

/** @internal The accepted keys of {@link RedisRateLimitStoreOptions}: validation and the bad-input sweep read it. */
export const REDIS_RATE_LIMIT_STORE_OPTIONS = {
  ...redisConnectionRules("evalsha"),
  keyPrefix: rule.string(),
  operationTimeoutMs: rule.integer(1, 2_147_483_647),
} as const satisfies OptionSpec<keyof RedisRateLimitStoreOptions>;

// Server time in ms (with µs), the state, and the rule: ARGV[1..4] = request interval, request burst, token
// interval, token burst (ms). Keys expire a minute after their arrival times pass: an idle limiter leaves nothing.
const HEAD = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local v = redis.call('HMGET', KEYS[1], 'r', 't')
local rt = tonumber(v[1]) or 0
local tt = tonumber(v[2]) or 0
local ri, rb, ti, tb = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function avail(tat, i, b)
  if i <= 0 then return -1 end
  return math.max(0, math.floor((now + b - math.max(tat, now)) / i))
end
local function save(r, tk)
  redis.call('HSET', KEYS[1], 'r', tostring(r), 't', tostring(tk))
  redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(r, tk, now) - now) + 60000)
end`;
// ARGV[5] tokens, ARGV[6] max wait. Returns {granted, waitMs, requestsAvailable, tokensAvailable} (-1: no limit).
const ACQUIRE = `${HEAD}
local cost, maxWait = tonumber(ARGV[5]), tonumber(ARGV[6])
local wait = 0
local nr, nt = rt, tt
if ri > 0 then
  nr = math.max(rt, now) + ri
  wait = math.max(wait, nr - rb - now)
end
if ti > 0 and cost > 0 then
  nt = math.max(tt, now) + cost * ti
  wait = math.max(wait, nt - tb - now)
end
wait = math.ceil(wait)
if wait > maxWait then return {0, wait, avail(rt, ri, rb), avail(tt, ti, tb)} end
save(nr, nt)
return {1, wait, avail(nr, ri, rb), avail(nt, ti, tb)}`;
// ARGV[5] requests, ARGV[6] tokens: positive charges from now on, negative hands back.
const ADJUST = `${HEAD}
local dr, dt = tonumber(ARGV[5]), tonumber(ARGV[6])
if ri > 0 and dr ~= 0 then
  if dr > 0 then rt = math.max(rt, now) + dr * ri else rt = rt + dr * ri end
end
if ti > 0 and dt ~= 0 then
  if dt > 0 then tt = math.max(tt, now) + dt * ti else tt = tt + dt * ti end
end
save(rt, tt)
return 1`;
// ARGV[5] requests blocked for ms, ARGV[6] tokens blocked for ms (negative: that side stays).
const BLOCK = `${HEAD}
local br, bt = tonumber(ARGV[5]), tonumber(ARGV[6])
if ri > 0 and br >= 0 then rt = math.max(rt, now + br + rb - ri) end
if ti > 0 and bt >= 0 then tt = math.max(tt, now + bt + tb) end
save(rt, tt)
return 1`;

const SCRIPTS = { acquire: redisScript(ACQUIRE), adjust: redisScript(ADJUST), block: redisScript(BLOCK) };

function ruleArgs(r: GcraRule): number[] {
  return [r.requestIntervalMs, r.requestBurstMs, r.tokenIntervalMs, r.tokenBurstMs];
}

function storeError(operation: string, error: unknown, connectionError: Error | undefined): Error {
  if (error instanceof IdempotencyStoreError) return error;
  const cause = error instanceof Error ? error : new Error(String(error));
  const why = connectionError === undefined ? "" : ` (last connection error: ${connectionError.message})`;
  return new IdempotencyStoreError(STORE, operation, `${cause.message || String(cause)}${why}`, { cause });
}

const count = (value: unknown): number | undefined => {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};

/**
 * A `RateLimitStore` in Redis, for limiters shared by replicas: pass it as `createRateLimiter({ store })` in every
 * replica, with the same limiter name. While Redis is down or slow the limiters decide locally (see `localShare`).
 * @example
 * const store = new RedisRateLimitStore({ url: process.env.REDIS_URL });
 * const openai = createRateLimiter({ name: "openai", requestsPerMinute: 500, tokensPerMinute: 200_000, store });
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly label = STORE;
  readonly #connection: RedisConnection;
  readonly #prefix: string;
  readonly #timeoutMs: number;

  constructor(options: RedisRateLimitStoreOptions) {
    const where = "RedisRateLimitStore(options)";
    checkOptions(options, REDIS_RATE_LIMIT_STORE_OPTIONS, where);
    this.#prefix = options.keyPrefix ?? "langgraph-ops:ratelimit:";
    this.#timeoutMs = options.operationTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#connection = openRedisConnection(options, where);
  }

  /** The deadline of each operation, in ms (`operationTimeoutMs`). */
  get operationTimeoutMs(): number {
    return this.#timeoutMs;
  }

  /** The Redis key of limiter `name`: its name is the hash tag, so a Cluster keeps it on one slot. */
  keyOf(name: string): string {
    return `${this.#prefix}{${name.replaceAll("}", "%7D")}}`;
  }

  async acquire(request: RateLimitAcquire): Promise<GcraDecision> {
    const reply = (await this.#run("acquire", SCRIPTS.acquire, request.key, [
      ...ruleArgs(request.rule),
      request.tokens,
      request.maxWaitMs,
    ])) as unknown[];
    return {
      granted: Number(reply[0]) === 1,
      waitMs: Number(reply[1]),
      requestsAvailable: count(reply[2]),
      tokensAvailable: count(reply[3]),
    };
  }

  async adjust(key: string, rule: GcraRule, requests: number, tokens: number): Promise<void> {
    await this.#run("adjust", SCRIPTS.adjust, key, [...ruleArgs(rule), requests, tokens]);
  }

  async block(key: string, rule: GcraRule, requestsMs: number, tokensMs: number): Promise<void> {
    await this.#run("block", SCRIPTS.block, key, [...ruleArgs(rule), requestsMs, tokensMs]);
  }

  /** Quits the client when the store created it (a client passed in stays open). */
  async close(): Promise<void> {
    if (!this.#connection.owned) return;
    const deadline = startDeadline(this.#timeoutMs * 4, () => storeTimeoutError(STORE, "close", this.#timeoutMs * 4));
    try {
      await deadline.race(this.#connection.close());
    } catch {
      this.#connection.client.disconnect();
    } finally {
      deadline.clear();
    }
  }

  async #run(operation: string, s: RedisScript, name: string, args: Array<string | number>): Promise<unknown> {
    const deadline = startDeadline(this.#timeoutMs, () => storeTimeoutError(STORE, operation, this.#timeoutMs));
    try {
      return await evalScript(this.#connection.client, s, [this.keyOf(name)], args, (work) => deadline.race(work));
    } catch (error) {
      throw storeError(operation, error, this.#connection.lastError());
    } finally {
      deadline.clear();
    }
  }
}
