/**
 * One conformance suite for every idempotency store: the in-memory store, PostgresIdempotencyStore and
 * RedisIdempotencyStore run the same cases against real servers started on loopback.
 */
import { randomUUID } from "node:crypto";
import { Annotation, MemorySaver, StateGraph } from "@langchain/langgraph";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresIdempotencyStore } from "../src/integrations/postgres.js";
import { RedisIdempotencyStore } from "../src/integrations/redis.js";
import { type IdempotencyStore, InMemoryIdempotencyStore, runOnce } from "../src/index.js";
import { freePort } from "./support/ports.js";
import { type PostgresServer, startPostgres } from "./support/postgres.js";
import { type RedisServer, startRedis } from "./support/redis.js";

let postgres: PostgresServer;
let redis: RedisServer;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await Promise.all([postgres?.stop(), redis?.stop()]);
});

/** A store that can be made unreachable while in use, for the outage cases. */
interface Outage {
  store: IdempotencyStore;
  goDown(): Promise<void>;
}

interface Subject {
  name: string;
  /** A fresh store over the shared backing data. */
  create(): Promise<IdempotencyStore>;
  /** A store whose server is not there at all. */
  unreachable?(): Promise<IdempotencyStore>;
  /** A store over a backend the test can take down mid-run. */
  outage?(): Promise<Outage>;
  /** The error message an unreachable store produces. */
  downMessage?: RegExp;
}

const memory = new InMemoryIdempotencyStore();
const subjects: Subject[] = [
  { name: "InMemoryIdempotencyStore", create: async () => memory },
  {
    name: "PostgresIdempotencyStore",
    async create() {
      const store = new PostgresIdempotencyStore({ connectionString: postgres.url, max: 8 });
      cleanups.push(() => store.close());
      await store.setup();
      return store;
    },
    async unreachable() {
      const store = new PostgresIdempotencyStore({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/postgres` });
      cleanups.push(() => store.close());
      return store;
    },
    async outage() {
      const database = `outage_${randomUUID().replaceAll("-", "")}`;
      const url = await postgres.createDatabase(database);
      const store = new PostgresIdempotencyStore({ connectionString: url });
      cleanups.push(() => store.close());
      await store.setup();
      return {
        store,
        async goDown() {
          // Refuse new connections to the store's database and cut the open ones: the server is gone for the store.
          const admin = new pg.Client({ connectionString: postgres.url });
          await admin.connect();
          await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS false`);
          await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [database]);
          await admin.end();
        },
      };
    },
    downMessage: /PostgresIdempotencyStore\.claim failed: .*ECONNREFUSED/,
  },
  {
    name: "RedisIdempotencyStore",
    async create() {
      const store = new RedisIdempotencyStore({ url: redis.url });
      cleanups.push(() => store.close());
      return store;
    },
    async unreachable() {
      const store = new RedisIdempotencyStore({ url: `redis://127.0.0.1:${await freePort()}` });
      cleanups.push(() => store.close());
      return store;
    },
    async outage() {
      const own = await startRedis();
      cleanups.push(() => own.stop());
      const store = new RedisIdempotencyStore({ url: own.url });
      cleanups.push(() => store.close());
      return { store, goDown: () => own.stop() };
    },
    downMessage: /RedisIdempotencyStore\.claim failed: .*ECONNREFUSED/,
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uniqueKey = (label: string) => `conformance:${label}:${randomUUID()}`;

const State = Annotation.Root({ result: Annotation<string> });

/** A one-node graph whose node charges through runOnce, then fails `failures` times (LangGraph's RetryPolicy re-runs it). */
function chargeGraph(store: IdempotencyStore, effect: () => Promise<string>, failures: number) {
  let calls = 0;
  const node = async (_state: unknown, config: Parameters<typeof runOnce>[0]) => {
    calls += 1;
    const receipt = await runOnce(config, "charge", effect, { store, waitMs: 200 });
    if (calls <= failures) throw Object.assign(new Error("upstream 503"), { status: 503 });
    return { result: receipt };
  };
  return new StateGraph(State)
    .addNode("pay", node, { retryPolicy: { maxAttempts: 3, initialInterval: 1, jitter: false, logWarning: false } })
    .addEdge("__start__", "pay")
    .compile({ checkpointer: new MemorySaver() });
}

describe.each(subjects)("$name conformance", (subject) => {
  let store: IdempotencyStore;
  beforeAll(async () => {
    store = await subject.create();
  });

  it("claims a free key, reports the live lease as pending, then replays the completed value", async () => {
    const key = uniqueKey("basic");
    const first = await store.claim(key, 60_000);
    expect(first.status).toBe("acquired");
    if (first.status !== "acquired") return;
    expect(await store.claim(key, 60_000)).toEqual({ status: "pending" });
    expect(await store.complete(key, first.token, '{"v":{"id":"ch_1"}}', 60_000)).toBe(true);
    expect(await store.claim(key, 60_000)).toEqual({ status: "completed", value: '{"v":{"id":"ch_1"}}' });
  });

  it("ignores complete and release with a token that does not hold the lease; release frees the key", async () => {
    const key = uniqueKey("tokens");
    const first = await store.claim(key, 60_000);
    if (first.status !== "acquired") throw new Error(`expected acquired, got ${first.status}`);
    expect(await store.complete(key, "not-the-token", '{"v":1}', 60_000)).toBe(false);
    await store.release(key, "not-the-token");
    expect(await store.claim(key, 60_000)).toEqual({ status: "pending" });
    await store.release(key, first.token);
    const second = await store.claim(key, 60_000);
    expect(second.status).toBe("acquired");
    // The released holder can no longer record a result over the new lease.
    expect(await store.complete(key, first.token, '{"v":"stale"}', 60_000)).toBe(false);
  });

  it("grants a live lease again to a claim that supersedes its token, to nobody else, and never back to an older claim", async () => {
    const key = uniqueKey("own");
    const [t1, t2, t3, late] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    expect(await store.claim(key, 60_000, { token: t1 })).toEqual({ status: "acquired", token: t1 });
    // Another caller (its own tokens, or none) still sees a live lease.
    expect(await store.claim(key, 60_000)).toEqual({ status: "pending" });
    expect(await store.claim(key, 60_000, { token: randomUUID(), supersedes: [randomUUID()] })).toEqual({ status: "pending" });
    // The same chain's retry takes its earlier lease over under a new token.
    expect(await store.claim(key, 60_000, { token: t2, supersedes: [t1] })).toEqual({ status: "acquired", token: t2 });
    // A claim sent before t2 existed (answered late) lists only older tokens: it cannot take the lease back.
    expect(await store.claim(key, 60_000, { token: late, supersedes: [t1] })).toEqual({ status: "pending" });
    await store.release(key, t1);
    expect(await store.complete(key, t1, '{"v":"stale"}', 60_000)).toBe(false);
    expect(await store.complete(key, t2, '{"v":"mine"}', 60_000)).toBe(true);
    // A recorded result is replayed, never leased again, even to its own chain.
    expect(await store.claim(key, 60_000, { token: t3, supersedes: [t1, t2] })).toEqual({ status: "completed", value: '{"v":"mine"}' });
  });

  it("grants exactly one of 64 concurrent claims, across two store instances", async () => {
    const other = await subject.create();
    const key = uniqueKey("race");
    const claims = await Promise.all(Array.from({ length: 64 }, (_, i) => (i % 2 === 0 ? store : other).claim(key, 60_000)));
    expect(claims.filter((c) => c.status === "acquired")).toHaveLength(1);
    expect(claims.filter((c) => c.status === "pending")).toHaveLength(63);
  });

  it("lets another caller take over an expired lease, and the old holder's complete then fails", async () => {
    const key = uniqueKey("lease");
    const first = await store.claim(key, 150);
    if (first.status !== "acquired") throw new Error(`expected acquired, got ${first.status}`);
    expect((await store.claim(key, 150)).status).toBe("pending");
    await sleep(300);
    const second = await store.claim(key, 60_000);
    expect(second.status).toBe("acquired");
    if (second.status !== "acquired") return;
    expect(second.token).not.toBe(first.token);
    expect(await store.complete(key, first.token, '{"v":"late"}', 60_000)).toBe(false);
    expect(await store.complete(key, second.token, '{"v":"winner"}', 60_000)).toBe(true);
    expect(await store.claim(key, 60_000)).toEqual({ status: "completed", value: '{"v":"winner"}' });
  });

  it("forgets a completed value once its TTL has passed", async () => {
    const key = uniqueKey("ttl");
    const first = await store.claim(key, 60_000);
    if (first.status !== "acquired") throw new Error(`expected acquired, got ${first.status}`);
    expect(await store.complete(key, first.token, '{"v":"short-lived"}', 150)).toBe(true);
    expect((await store.claim(key, 60_000)).status).toBe("completed");
    await sleep(300);
    expect((await store.claim(key, 60_000)).status).toBe("acquired");
  });

  it("round-trips a 4 MB value and non-ASCII text exactly", async () => {
    const key = uniqueKey("large");
    const text = JSON.stringify({
      v: { blob: "x".repeat(4 * 1024 * 1024), unicode: 'żółć 日本語 🚀 \u2028 "quoted" \\ \n', nul: "\u0000" },
    });
    const first = await store.claim(key, 60_000);
    if (first.status !== "acquired") throw new Error(`expected acquired, got ${first.status}`);
    expect(await store.complete(key, first.token, text, 60_000)).toBe(true);
    const replay = await store.claim(key, 60_000);
    expect(replay.status).toBe("completed");
    expect(replay.status === "completed" && replay.value === text).toBe(true);
  });

  it("keeps keys with odd characters apart and intact", async () => {
    const base = uniqueKey("odd");
    const keys = [
      `${base}:spaces and\ttabs\nnewlines`,
      `${base}:'quotes" -- ; DROP TABLE x;`,
      `${base}:%_*?[]{}\\`,
      `${base}:żółć:日本語:🚀`,
      `${base}:nul\u0000byte`,
      `${base}:nul\u0000bytf`,
      `${base}:lone\uD800surrogate`,
      `${base}:lone\uDC00surrogate`,
      `${base}:\u0001sha256:prefix`,
      `${base}:${"long".repeat(4000)}`,
      `${base}:${"long".repeat(4000)}!`,
    ];
    for (const [i, key] of keys.entries()) {
      const claim = await store.claim(key, 60_000);
      expect(claim.status, key.slice(0, 80)).toBe("acquired");
      if (claim.status === "acquired") expect(await store.complete(key, claim.token, JSON.stringify({ v: i }), 60_000)).toBe(true);
    }
    for (const [i, key] of keys.entries()) {
      expect(await store.claim(key, 60_000), key.slice(0, 80)).toEqual({ status: "completed", value: JSON.stringify({ v: i }) });
    }
  });

  it("runs a side effect once while LangGraph's RetryPolicy re-runs the node", async () => {
    let charges = 0;
    const graph = chargeGraph(store, async () => `ch_${++charges}`, 2);
    const out = await graph.invoke({ result: "" }, { configurable: { thread_id: randomUUID() } });
    expect(out.result).toBe("ch_1");
    expect(charges).toBe(1);
  });

  if (subject.unreachable !== undefined) {
    const unreachable = subject.unreachable;
    it("fails with an error naming the store when its server is unreachable, without running the side effect", async () => {
      const down = await unreachable();
      let charges = 0;
      const graph = chargeGraph(down, async () => `ch_${++charges}`, 0);
      await expect(graph.invoke({ result: "" }, { configurable: { thread_id: randomUUID() } })).rejects.toThrow(subject.downMessage!);
      expect(charges).toBe(0);
    });
  }

  if (subject.outage !== undefined) {
    const outage = subject.outage;
    it("does not run the side effect twice when the store goes down after it ran", async () => {
      const { store: fragile, goDown } = await outage();
      let charges = 0;
      const graph = chargeGraph(
        fragile,
        async () => {
          charges += 1;
          await goDown();
          return `ch_${charges}`;
        },
        0,
      );
      // complete() fails, then each RetryPolicy re-run fails at claim(): a clear store error, one charge.
      const error = await graph.invoke({ result: "" }, { configurable: { thread_id: randomUUID() } }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(/IdempotencyStore\.(claim|complete) failed/);
      expect(charges).toBe(1);
    });
  }
});

describe("store options", () => {
  it("reject bad options with a TypeError naming the option", () => {
    expect(() => new PostgresIdempotencyStore({})).toThrow(/exactly one of `pool`/);
    expect(() => new PostgresIdempotencyStore({ connectionString: "postgres://x", table: "bad name" })).toThrow(TypeError);
    expect(() => new PostgresIdempotencyStore({ connectionString: "postgres://x", table: "bad name" })).toThrow(/\.table/);
    expect(() => new PostgresIdempotencyStore({ connectionString: "postgres://x", sweepIntervalMs: -1 })).toThrow(/sweepIntervalMs/);
    expect(() => new PostgresIdempotencyStore({ connectionString: "postgres://x", extra: 1 } as never)).toThrow(/unknown option "extra"/);
    expect(() => new RedisIdempotencyStore({})).toThrow(/exactly one of `client`/);
    expect(() => new RedisIdempotencyStore({ url: "http://x" })).toThrow(/\.url/);
    expect(() => new RedisIdempotencyStore({ url: "redis://x", keyPrefix: 3 as never })).toThrow(/keyPrefix/);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, "5000"]) {
      expect(() => new PostgresIdempotencyStore({ connectionString: "postgres://x", operationTimeoutMs: bad as never })).toThrow(
        /^PostgresIdempotencyStore\(options\)\.operationTimeoutMs must be an integer >= 1 and <= 2147483647, got /,
      );
      expect(() => new RedisIdempotencyStore({ url: "redis://x", operationTimeoutMs: bad as never })).toThrow(
        /^RedisIdempotencyStore\(options\)\.operationTimeoutMs must be an integer >= 1 and <= 2147483647, got /,
      );
    }
  });

  it("default to a 5 s deadline per operation", async () => {
    const pgStore = new PostgresIdempotencyStore({ connectionString: "postgres://x" });
    const redisStore = new RedisIdempotencyStore({ url: "redis://127.0.0.1:1", redisOptions: { lazyConnect: true } });
    expect(pgStore.operationTimeoutMs).toBe(5000);
    expect(redisStore.operationTimeoutMs).toBe(5000);
    expect(new PostgresIdempotencyStore({ connectionString: "postgres://x", operationTimeoutMs: 250 }).operationTimeoutMs).toBe(250);
    await Promise.all([pgStore.close(), redisStore.close()]);
  });

  it("PostgresIdempotencyStore accepts a caller's pg.Pool, leaves it open on close, and setup() is safe to run concurrently", async () => {
    const database = `pool_${randomUUID().replaceAll("-", "")}`;
    const pool = new pg.Pool({ connectionString: await postgres.createDatabase(database), max: 4 });
    try {
      const stores = Array.from({ length: 4 }, () => new PostgresIdempotencyStore({ pool, table: "ops.idem", sweepIntervalMs: 0 }));
      await pool.query("CREATE SCHEMA ops");
      await Promise.all(stores.map((s) => s.setup()));
      const claim = await stores[0]!.claim("k", 60_000);
      expect(claim.status).toBe("acquired");
      await Promise.all(stores.map((s) => s.close()));
      expect((await pool.query("SELECT count(*)::int AS n FROM ops.idem")).rows[0].n).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it("PostgresIdempotencyStore uses named prepared statements unless prepared: false", async () => {
    const real = new pg.Pool({ connectionString: postgres.url, max: 2 });
    const names: Array<string | undefined> = [];
    // The store runs each statement on a connection it checks out; record the statement names it sends there.
    const pool = {
      connect: async () => {
        const client = await real.connect();
        return {
          query: (config: { name?: string; text: string; values?: unknown[] }) => {
            if (!/^(BEGIN|COMMIT|SELECT pg_advisory|CREATE )/.test(config.text.trim())) names.push(config.name);
            return client.query(config);
          },
          release: (error?: Error | boolean) => client.release(error),
        };
      },
      end: () => real.end(),
    };
    try {
      for (const prepared of [true, false]) {
        names.length = 0;
        const store = new PostgresIdempotencyStore({ pool, prepared, table: "prepared_test", sweepIntervalMs: 0 });
        await store.setup();
        const key = uniqueKey(`prepared-${prepared}`);
        const claim = await store.claim(key, 60_000);
        if (claim.status !== "acquired") throw new Error(`expected acquired, got ${claim.status}`);
        expect(await store.complete(key, claim.token, '{"v":1}', 60_000)).toBe(true);
        expect(await store.claim(key, 60_000)).toEqual({ status: "completed", value: '{"v":1}' });
        expect(names).toHaveLength(3);
        expect(names.every((name) => (prepared ? typeof name === "string" : name === undefined))).toBe(true);
      }
      expect(() => new PostgresIdempotencyStore({ pool, prepared: "no" as never })).toThrow(/\.prepared must be a boolean/);
    } finally {
      await real.end();
    }
  });

  it("PostgresIdempotencyStore.sweep() deletes expired rows only", async () => {
    const store = new PostgresIdempotencyStore({ connectionString: postgres.url, table: "sweep_test", sweepIntervalMs: 0 });
    try {
      await store.setup();
      const a = await store.claim("expired", 1);
      const b = await store.claim("live", 60_000);
      if (a.status !== "acquired" || b.status !== "acquired") throw new Error("expected two leases");
      await sleep(20);
      expect(await store.sweep()).toBe(1);
      expect((await store.claim("live", 60_000)).status).toBe("pending");
    } finally {
      await store.close();
    }
  });

  it("RedisIdempotencyStore accepts a caller's ioredis client, survives a flushed script cache, and leaves the client open", async () => {
    const client = new Redis(redis.url);
    try {
      const store = new RedisIdempotencyStore({ client, keyPrefix: `t:${randomUUID()}:` });
      expect((await store.claim("a", 60_000)).status).toBe("acquired");
      await client.script("FLUSH");
      expect((await store.claim("a", 60_000)).status).toBe("pending");
      await store.close();
      expect(await client.ping()).toBe("PONG");
    } finally {
      client.disconnect();
    }
  });
});
