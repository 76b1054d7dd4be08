/**
 * `RedisBreakerStore`: circuit breaker state shared by a fleet. Per breaker name, one hash holds the versioned state
 * (`v`, `state`, `opened_at`), one hash the pooled rolling window (calls and failures per bucket) and one key the
 * half-open probe's lease (`SET NX PX`). Each replica counts its outcomes locally and adds them in one script call
 * per flush (at once after a failure, else every `flushIntervalMs`); the same call returns the state, and state
 * changes are also published, so calls read a cached state and never wait for Redis. Any failed operation turns the
 * breaker to its local window (and publishes `storeError`) until a flush answers again.
 */
import { randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import type { BreakerState } from "../core/events.js";
import { CHANNELS, publish } from "../core/events.js";
import { checkOptions, type OptionSpec, rule } from "../core/options.js";
import type { BreakerLink, BreakerLinkOptions, BreakerStore, ProbeGrant, SharedBreakerView } from "../resilience/breaker-store.js";
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

/** Options of `RedisBreakerStore`: exactly one of `client` and `url`. */
export interface RedisBreakerStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key and of the pub/sub channel. Default `langgraph-ops:breaker:`. */
  keyPrefix?: string;
  /**
   * Deadline of each Redis operation in ms; past it the breaker uses its local window for the moment. Default 1000.
   */
  operationTimeoutMs?: number;
  /**
   * How often each breaker adds its counted successes to the pooled window and re-reads the fleet state, in ms (a
   * failure is added at once). Default 1000.
   */
  flushIntervalMs?: number;
}

const STORE = "RedisBreakerStore";
/** Version of the state hash; a replica meeting another version falls back to its local window. */
const STATE_VERSION = 1;

/** @internal The accepted keys of {@link RedisBreakerStoreOptions}: validation and the bad-input sweep read it. */
export const REDIS_BREAKER_STORE_OPTIONS = {
  ...redisConnectionRules("evalsha", "duplicate"),
  keyPrefix: rule.string(),
  operationTimeoutMs: rule.integer(1, 2_147_483_647),
  flushIntervalMs: rule.integer(1, 2_147_483_647),
} as const satisfies OptionSpec<keyof RedisBreakerStoreOptions>;

// Every script: KEYS state, window, probe; ARGV resetTimeout, channel, breaker name, then its own. It reads the state
// (refusing another version) and how long until a probe may start, and can announce a change on the channel.
const PRELUDE = `${LUA_NOW_MS}
local reset = tonumber(ARGV[1])
local st = redis.call('HMGET', KEYS[1], 'v', 'state', 'opened_at')
if st[1] and st[1] ~= '${STATE_VERSION}' then
  return redis.error_reply('breaker state version ' .. st[1] .. ' is not ${STATE_VERSION}')
end
local state = st[2] or 'closed'
local remaining = 0
if state == 'open' then remaining = math.max(0, tonumber(st[3]) + reset - now)
elseif state == 'half_open' then remaining = math.max(0, redis.call('PTTL', KEYS[3])) end
local function announce(s, r)
  redis.call('PUBLISH', ARGV[2], '{"v":${STATE_VERSION},"breaker":' .. cjson.encode(ARGV[3]) .. ',"state":"' .. s .. '","retryAfterMs":' .. r .. '}')
end
local function set(s, opened)
  redis.call('HSET', KEYS[1], 'v', '${STATE_VERSION}', 'state', s, 'opened_at', opened)
  redis.call('PEXPIRE', KEYS[1], 86400000)
end
`;
// ARGV[4..]: calls, failures, bucket ms, buckets, volume threshold, error percentage. Adds the counts while closed,
// drops buckets older than the window, and opens on a failure that takes the window over the threshold.
const FLUSH = `${PRELUDE}
local calls = tonumber(ARGV[4])
if state ~= 'closed' or calls == 0 then return {state, remaining} end
local failures = tonumber(ARGV[5])
local bucketMs = tonumber(ARGV[6])
local buckets = tonumber(ARGV[7])
local cur = math.floor(now / bucketMs)
redis.call('HINCRBY', KEYS[2], cur .. ':n', calls)
if failures > 0 then redis.call('HINCRBY', KEYS[2], cur .. ':f', failures) end
redis.call('PEXPIRE', KEYS[2], bucketMs * buckets * 2)
local all = redis.call('HGETALL', KEYS[2])
local n, f = 0, 0
for i = 1, #all, 2 do
  local sep = string.find(all[i], ':', 1, true)
  if tonumber(string.sub(all[i], 1, sep - 1)) <= cur - buckets then redis.call('HDEL', KEYS[2], all[i])
  elseif string.sub(all[i], sep + 1) == 'n' then n = n + tonumber(all[i + 1])
  else f = f + tonumber(all[i + 1]) end
end
if failures > 0 and n >= tonumber(ARGV[8]) and f * 100 > tonumber(ARGV[9]) * n then
  set('open', now)
  redis.call('DEL', KEYS[2])
  announce('open', reset)
  return {'open', reset}
end
return {state, 0}`;
// ARGV[4]: holder. Grants the probe once the reset period is over and no live lease exists.
const PROBE = `${PRELUDE}
if state == 'closed' then return {'closed', 0, 0} end
if remaining > 0 then return {state, remaining, 0} end
if not redis.call('SET', KEYS[3], ARGV[4], 'NX', 'PX', reset) then return {'half_open', math.max(0, redis.call('PTTL', KEYS[3])), 0} end
set('half_open', st[3] or now)
announce('half_open', reset)
return {'half_open', reset, 1}`;
// ARGV[4]: holder, ARGV[5]: '1' when the probe succeeded. Only the lease's holder settles; others read the state.
const SETTLE = `${PRELUDE}
if redis.call('GET', KEYS[3]) ~= ARGV[4] then return {state, remaining} end
redis.call('DEL', KEYS[3], KEYS[2])
if ARGV[5] == '1' then
  set('closed', 0)
  announce('closed', 0)
  return {'closed', 0}
end
set('open', now)
announce('open', reset)
return {'open', reset}`;

const SCRIPTS = { flush: redisScript(FLUSH), probe: redisScript(PROBE), settle: redisScript(SETTLE) };

const STATES: ReadonlySet<string> = new Set<BreakerState>(["closed", "open", "half_open"]);

/** One breaker's link: its pending counts, cached view and flush in progress. */
class RedisBreakerLink implements BreakerLink {
  readonly shared = true;
  readonly keys: [string, string, string];
  #view: SharedBreakerView | undefined;
  #calls = 0;
  #failures = 0;
  #flushing = false;
  #again = false;
  #closed = false;
  #active = false;
  #joined = false;
  /** Whether the flush in progress carries failures. */
  #carrying = false;
  #held: Array<() => void> = [];

  constructor(
    readonly store: RedisBreakerStore,
    readonly name: string,
    readonly options: BreakerLinkOptions,
    readonly holder: string,
  ) {
    const tag = `${store.prefix}{${name}}`;
    this.keys = [`${tag}:state`, `${tag}:window`, `${tag}:probe`];
  }

  view(): SharedBreakerView | undefined {
    return this.#view;
  }

  touch(): void {
    this.#active = true;
  }

  hold(): Promise<void> | undefined {
    if (!this.#carrying && this.#failures === 0) return undefined;
    return new Promise((resolve) => this.#held.push(resolve));
  }

  /**
   * The store's timer: a flush. A breaker that lost the store and is idle skips it (no load on a dead server); one
   * that never read the fleet state yet keeps trying, so it joins the fleet as soon as the store answers.
   */
  tick(): void {
    if (this.#view === undefined && this.#joined && !this.#active) return;
    this.#active = false;
    this.flush();
  }

  record(failure: boolean): void {
    this.#active = true;
    if (this.#view === undefined) return;
    this.#calls += 1;
    if (failure) {
      this.#failures += 1;
      this.flush();
    }
  }

  /** Adds the pending counts and re-reads the state; one flush at a time, a request meanwhile runs one more. */
  flush(): void {
    if (this.#closed) return;
    if (this.#flushing) {
      this.#again = true;
      return;
    }
    this.#flushing = true;
    const calls = this.#calls;
    const failures = this.#failures;
    this.#carrying = failures > 0;
    this.#calls = 0;
    this.#failures = 0;
    const s = this.options.settings;
    const bucketMs = s.rollingCountTimeout / s.rollingCountBuckets;
    this.#call("flush", SCRIPTS.flush, [calls, failures, bucketMs, s.rollingCountBuckets, s.volumeThreshold, s.errorThresholdPercentage])
      .then(
        (reply) => this.#apply(reply),
        () => undefined,
      )
      .finally(() => {
        this.#flushing = false;
        this.#carrying = false;
        if (this.#again) {
          this.#again = false;
          this.flush();
        }
        if (!this.#carrying) for (const release of this.#held.splice(0)) release();
      });
  }

  async tryProbe(): Promise<ProbeGrant> {
    const reply = (await this.#call("probe", SCRIPTS.probe, [this.holder])) as [string, number, number];
    const view = this.#apply(reply);
    return reply[2] === 1 ? { granted: true } : { granted: false, view };
  }

  async settleProbe(success: boolean): Promise<void> {
    this.#apply(await this.#call("settle", SCRIPTS.settle, [this.holder, success ? "1" : "0"]));
  }

  /** A state announced on the channel by any replica. */
  heard(state: string, retryAfterMs: number): void {
    if (this.#view !== undefined) this.#apply([state, retryAfterMs]);
  }

  close(): void {
    this.#closed = true;
    for (const release of this.#held.splice(0)) release();
    this.store.unlink(this);
  }

  async #call(operation: string, script: RedisScript, args: Array<string | number>): Promise<unknown> {
    const timeoutMs = this.store.timeoutMs;
    const deadline = startDeadline(timeoutMs, () => storeTimeoutError(STORE, operation, timeoutMs));
    try {
      return await evalScript(
        this.store.client,
        script,
        this.keys,
        [this.options.settings.resetTimeout, this.store.channel, this.name, ...args],
        (w) => deadline.race(w),
      );
    } catch (error) {
      this.#degrade(operation, error);
      throw error;
    } finally {
      deadline.clear();
    }
  }

  #apply(reply: unknown): SharedBreakerView {
    const [state, remaining] = reply as [string, number];
    const view: SharedBreakerView = {
      state: (STATES.has(state) ? state : "closed") as BreakerState,
      probeAt: this.options.now() + Math.max(0, Number(remaining) || 0),
    };
    const changed = this.#view?.state !== view.state;
    this.#view = view;
    this.#joined = true;
    if (changed && !this.#closed) this.options.onChange();
    return view;
  }

  /** The store did not answer: act on the local window until a flush answers again. */
  #degrade(operation: string, error: unknown): void {
    publish(CHANNELS.storeError, { store: STORE, operation, error: error instanceof Error ? error : new Error(String(error)) });
    this.#calls = 0;
    this.#failures = 0;
    if (this.#view === undefined) return;
    this.#view = undefined;
    if (!this.#closed) this.options.onChange();
  }
}

/**
 * A `BreakerStore` in Redis: every replica using the same server, key prefix and breaker name pools its outcomes,
 * the breaker opens fleet-wide once the pooled window crosses its thresholds, and one replica at a time probes.
 * @example
 * const store = new RedisBreakerStore({ url: process.env.REDIS_URL });
 * const openai = createCircuitBreaker({ name: "openai", volumeThreshold: 20, store });
 */
export class RedisBreakerStore implements BreakerStore {
  readonly #connection: RedisConnection;
  /** @internal */
  readonly client: Redis | Cluster;
  /** @internal */
  readonly prefix: string;
  /** @internal */
  readonly channel: string;
  /** @internal */
  readonly timeoutMs: number;
  readonly #intervalMs: number;
  readonly #id = randomUUID();
  readonly #links = new Map<string, RedisBreakerLink>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #subscriber: Redis | Cluster | undefined;

  constructor(options: RedisBreakerStoreOptions) {
    const where = `${STORE}(options)`;
    checkOptions(options, REDIS_BREAKER_STORE_OPTIONS, where);
    this.prefix = options.keyPrefix ?? "langgraph-ops:breaker:";
    this.channel = `${this.prefix}events`;
    this.timeoutMs = options.operationTimeoutMs ?? 1000;
    this.#intervalMs = options.flushIntervalMs ?? 1000;
    this.#connection = openRedisConnection(options, where);
    this.client = this.#connection.client;
  }

  link(name: string, options: BreakerLinkOptions): BreakerLink {
    const link = new RedisBreakerLink(this, name, options, `${this.#id}:${name}`);
    this.#links.get(name)?.close();
    this.#links.set(name, link);
    this.#start();
    link.flush();
    return link;
  }

  /** @internal Forgets a closed link; the timers stop with the last one. */
  unlink(link: RedisBreakerLink): void {
    if (this.#links.get(link.name) === link) this.#links.delete(link.name);
    if (this.#links.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
  }

  /** The flush timer and the subscription, started with the first link; neither keeps the process alive. */
  #start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      for (const link of this.#links.values()) link.tick();
    }, this.#intervalMs);
    this.#timer.unref();
    const sub = this.client.duplicate();
    this.#subscriber = sub;
    // A lost subscription costs only latency: the flushes read the state anyway.
    sub.on("error", () => undefined);
    sub.on("message", (channel: string, payload: string) => {
      if (channel !== this.channel) return;
      try {
        const message = JSON.parse(payload) as { v?: number; breaker?: string; state?: string; retryAfterMs?: number };
        if (message.v !== STATE_VERSION || typeof message.breaker !== "string") return;
        this.#links.get(message.breaker)?.heard(String(message.state), Number(message.retryAfterMs));
      } catch {
        // not a message of this version
      }
    });
    sub.subscribe(this.channel).catch(() => undefined);
    (sub as unknown as { stream?: { unref?: () => void } }).stream?.unref?.();
  }

  /** Stops every link's flushes and the subscription, and quits the client when the store created it. */
  async close(): Promise<void> {
    for (const link of [...this.#links.values()]) link.close();
    await this.#connection.close();
  }
}
