/**
 * The connection every Redis store of the kit holds: an ioredis client passed in (never closed by the store) or one
 * created from a URL (quit by `close()`), the last connection error for error messages, and Lua scripts called by
 * digest with one resend of the source after the server lost its script cache.
 */
import { createHash } from "node:crypto";
import { type Cluster, Redis, type RedisOptions } from "ioredis";
import { rule } from "../core/options.js";

/** Connection options shared by the Redis stores: exactly one of `client` and `url`. */
export interface RedisConnectionOptions {
  /** An existing ioredis client (or cluster); the store never closes it. */
  client?: Redis | Cluster;
  /** A `redis://` / `rediss://` URL; the store creates a client and `close()` quits it. */
  url?: string;
  /** Extra ioredis options for the client created from `url`. */
  redisOptions?: RedisOptions;
}

/**
 * @internal The option rules of {@link RedisConnectionOptions}; `methods` are the client methods the store calls
 * (checked so a wrong object fails at construction, not at the first command).
 */
export function redisConnectionRules(...methods: string[]) {
  return {
    client: rule.methods("an ioredis client", ...methods),
    url: rule.check("a redis:// or rediss:// URL", (v) => typeof v === "string" && /^rediss?:\/\/./.test(v), [
      "",
      "http://x",
      "localhost:6379",
    ]),
    redisOptions: rule.check("an ioredis options object", (v) => typeof v === "object" && v !== null && !Array.isArray(v), [[]]),
  } as const;
}

/** Defaults for a client a store creates: fail a command fast while the server is down instead of queueing it for long. */
const CREATED_CLIENT_DEFAULTS: RedisOptions = { maxRetriesPerRequest: 1, connectTimeout: 5000 };

/** @internal A store's client and what it knows about the connection. */
export interface RedisConnection {
  readonly client: Redis | Cluster;
  /** True when the store created the client from `url` and so closes it. */
  readonly owned: boolean;
  /** The last connection error of a created client, cleared once it is ready again. */
  lastError(): Error | undefined;
  /** Quits a created client (disconnects when the QUIT fails); a client passed in stays open. */
  close(): Promise<void>;
}

/**
 * @internal Opens the connection described by already-validated options. Call it after every other option is
 * checked: a rejected constructor must not leave a connection behind.
 */
export function openRedisConnection(options: RedisConnectionOptions, where: string): RedisConnection {
  const { client, url } = options;
  if ((client === undefined) === (url === undefined)) {
    throw new TypeError(`${where}: pass exactly one of \`client\` (an ioredis client) and \`url\``);
  }
  if (options.redisOptions !== undefined && client !== undefined) {
    throw new TypeError(`${where}.redisOptions only applies with \`url\`; configure your own client instead`);
  }
  if (client !== undefined) {
    return { client, owned: false, lastError: () => undefined, close: async () => undefined };
  }
  let lastError: Error | undefined;
  const created = new Redis(url as string, { ...CREATED_CLIENT_DEFAULTS, ...options.redisOptions });
  // Connection errors surface on each command (as "max retries per request"); keep the last one so the command's
  // error can say why the server is unreachable.
  created.on("error", (error: Error) => {
    lastError = error;
  });
  created.on("ready", () => {
    lastError = undefined;
  });
  return {
    client: created,
    owned: true,
    lastError: () => lastError,
    close: async () => {
      await created.quit().catch(() => created.disconnect());
    },
  };
}

/**
 * @internal Lua lines that set `now` to the server's clock in whole milliseconds (`redis.call('TIME')`), so replicas'
 * clocks never matter. Scripts that call it must stay effects-replicated (the default since Redis 5).
 */
export const LUA_NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** @internal A Lua script and its SHA-1, the name Redis caches it under. */
export interface RedisScript {
  readonly source: string;
  readonly sha: string;
}

/** @internal A script to call with {@link evalScript}. */
export function redisScript(source: string): RedisScript {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

/**
 * @internal Calls `script` by digest and sends its source once when the server answers NOSCRIPT (its cache is empty
 * after a restart or failover); `race` wraps each command, e.g. in an operation deadline.
 */
export async function evalScript(
  client: Redis | Cluster,
  script: RedisScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
  race: <T>(work: Promise<T>) => Promise<T> = (work) => work,
): Promise<unknown> {
  try {
    return await race(client.evalsha(script.sha, keys.length, ...keys, ...args));
  } catch (error) {
    if (!String((error as Error | undefined)?.message).includes("NOSCRIPT")) throw error;
    return await race(client.eval(script.source, keys.length, ...keys, ...args));
  }
}
