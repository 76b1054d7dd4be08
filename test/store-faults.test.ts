/**
 * Idempotency stores under faults that answer nothing or answer late: a PostgreSQL and a Redis server frozen with
 * SIGSTOP (sockets stay open, the kernel keeps acknowledging), and store errors between a side effect and its record.
 * Real servers on loopback, real LangGraph graphs; every case resumes the servers in its cleanup.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PostgresIdempotencyStore } from "../src/integrations/postgres.js";
import { RedisIdempotencyStore } from "../src/integrations/redis.js";
import {
  type IdempotencyStore,
  IdempotencyStoreError,
  TimeoutError,
  classifyError,
  idempotencyKey,
  runOnce,
  withRetry,
  withTimeout,
} from "../src/index.js";
import { type TestNode, oneNodeGraph, threadConfig } from "./support/graph.js";
import { type PostgresServer, startPostgres } from "./support/postgres.js";
import { type RedisServer, startRedis } from "./support/redis.js";

let postgres: PostgresServer;
let redis: RedisServer;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
});

afterEach(() => {
  // Whatever a case did, the servers run again before the next one (and before the stores close).
  postgres?.resume();
  redis?.resume();
});

afterAll(async () => {
  postgres?.resume();
  redis?.resume();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await Promise.all([postgres?.stop(), redis?.stop()]);
});

type ClosableStore = IdempotencyStore & { close(): Promise<void> };

interface Subject {
  name: "PostgresIdempotencyStore" | "RedisIdempotencyStore";
  server(): { pause(): void; resume(): void };
  /** A store with its own database / key prefix. */
  create(operationTimeoutMs: number): Promise<ClosableStore>;
  /** Makes every store operation fail at once (not hang); the returned function undoes it. */
  breakStore(store: ClosableStore): Promise<() => Promise<void>>;
  /** Leases (not results) the store holds, where the server's late answers can be seen. */
  leases?(store: ClosableStore): Promise<number>;
}

const databases = new WeakMap<object, string>();
const prefixes = new WeakMap<object, string>();

const subjects: Subject[] = [
  {
    name: "PostgresIdempotencyStore",
    server: () => postgres,
    async create(operationTimeoutMs) {
      const database = `faults_${randomUUID().replaceAll("-", "")}`;
      const store = new PostgresIdempotencyStore({ connectionString: await postgres.createDatabase(database), operationTimeoutMs });
      databases.set(store, database);
      await store.setup();
      return store;
    },
    async breakStore(store) {
      const database = databases.get(store)!;
      const admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      try {
        await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS false`);
        await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [database]);
      } finally {
        await admin.end();
      }
      return async () => {
        const again = new pg.Client({ connectionString: postgres.url });
        await again.connect();
        await again.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS true`).finally(() => again.end());
      };
    },
  },
  {
    name: "RedisIdempotencyStore",
    server: () => redis,
    async create(operationTimeoutMs) {
      const keyPrefix = `faults:${randomUUID()}:`;
      const store = new RedisIdempotencyStore({ url: redis.url, keyPrefix, operationTimeoutMs });
      prefixes.set(store, keyPrefix);
      await store.setup();
      return store;
    },
    async leases(store) {
      const admin = new Redis(redis.url);
      try {
        const keys = await admin.keys(`${prefixes.get(store)}*`);
        const values = keys.length === 0 ? [] : await admin.mget(...keys);
        return values.filter((v) => v?.startsWith("L")).length;
      } finally {
        admin.disconnect();
      }
    },
    async breakStore() {
      // The server refuses the store's scripts (NOPERM) until the permission is given back.
      const admin = new Redis(redis.url);
      await admin.call("ACL", "SETUSER", "default", "-@scripting");
      return async () => {
        await admin.call("ACL", "SETUSER", "default", "+@all");
        admin.disconnect();
      };
    },
  },
];

/** Counts of the process's active handles by type (timers, sockets). */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(subjects)("$name, frozen or failing", (subject) => {
  it("fails 16 concurrent in-flight claims of real graph runs within operationTimeoutMs while the server is frozen, and runs no side effect", async () => {
    const deadlineMs = 1000;
    const baseline = handles();
    const store = await subject.create(deadlineMs);
    let charges = 0;
    const node: TestNode = async (_s, config) => ({ result: await runOnce(config, "charge", async () => `ch_${++charges}`, { store }) });
    const graph = oneNodeGraph(node);
    // Warm up: the pool has a connection and the scripts are loaded, so the freeze hits live sessions too.
    expect((await graph.invoke({ requestId: "warm" }, threadConfig())).result).toBe("ch_1");
    const timersBefore = handles().Timeout ?? 0;

    subject.server().pause();
    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: 16 }, () =>
        graph.invoke({ requestId: "frozen" }, threadConfig()).then(
          () => ({ error: undefined, ms: performance.now() - started }),
          (error: unknown) => ({ error: error as IdempotencyStoreError, ms: performance.now() - started }),
        ),
      ),
    );
    for (const { error, ms } of outcomes) {
      expect(error).toBeInstanceOf(IdempotencyStoreError);
      expect(error?.message).toMatch(
        new RegExp(`^${subject.name}\\.claim failed: no answer within ${deadlineMs} ms \\(operationTimeoutMs\\)`),
      );
      expect(error).toMatchObject({ store: subject.name, operation: "claim", timeoutMs: deadlineMs, code: "ETIMEDOUT" });
      expect(classifyError(error)).toMatchObject({ retryable: true, reason: "timeout" });
      // Well before a generous bound: nothing waits for the server to come back.
      expect(ms).toBeGreaterThanOrEqual(deadlineMs - 50);
      expect(ms).toBeLessThan(3 * deadlineMs);
    }
    expect(charges).toBe(1);
    // Every other operation has the same deadline.
    const operations: Array<[string, Promise<unknown>]> = [
      ["complete", store.complete("frozen-key", randomUUID(), '{"v":1}', 60_000)],
      ["release", store.release("frozen-key", randomUUID())],
    ];
    if (store instanceof PostgresIdempotencyStore) operations.push(["sweep", store.sweep()], ["setup", store.setup()]);
    if (store instanceof RedisIdempotencyStore) operations.push(["setup", store.setup()]);
    const operationsStarted = performance.now();
    for (const [operation, pending] of operations) {
      await expect(pending).rejects.toMatchObject({ store: subject.name, operation, timeoutMs: deadlineMs });
    }
    expect(performance.now() - operationsStarted).toBeLessThan(3 * deadlineMs);
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    console.log(
      `[store-faults] store=${subject.name} operationTimeoutMs=${deadlineMs} claims=16 slowest-failure-ms=${Math.round(slowest)}`,
    );
    // No deadline or connect timer is left behind by the abandoned operations while the server is still frozen
    // (the driver's own connect timers, armed a moment after the store's deadlines, fire right after them).
    await sleep(250);
    expect(handles().Timeout ?? 0).toBeLessThanOrEqual(timersBefore);

    subject.server().resume();
    // The store serves new runs once the server answers again.
    expect((await graph.invoke({ requestId: "thawed" }, threadConfig())).result).toBe("ch_2");
    if (subject.leases !== undefined) {
      // The server now runs the 16 queued claims and grants them; the store hands each late grant back.
      const deadline = Date.now() + 5000;
      while ((await subject.leases(store)) > 0 && Date.now() < deadline) await sleep(50);
      expect(await subject.leases(store)).toBe(0);
    }
    await store.close();
    await sleep(50);
    const after = handles();
    expect(after.TCPSocketWrap ?? 0).toBeLessThanOrEqual(baseline.TCPSocketWrap ?? 0);
    expect(after.Timeout ?? 0).toBeLessThanOrEqual(baseline.Timeout ?? 0);
  });

  it("closes within operationTimeoutMs while the server is frozen", async () => {
    const store = await subject.create(500);
    // A live connection to close: one answered claim.
    expect((await store.claim(`close:${randomUUID()}`, 60_000)).status).toBe("acquired");
    subject.server().pause();
    const started = performance.now();
    const closed = await store.close().then(
      () => undefined,
      (error: unknown) => error as IdempotencyStoreError,
    );
    expect(performance.now() - started).toBeLessThan(1500);
    // Redis drops the connection when QUIT goes unanswered. The pg pool either ends (its goodbye needs no answer) or
    // the store reports that it could not end in time; its sockets then close once the server answers again.
    if (subject.name === "RedisIdempotencyStore") expect(closed).toBeUndefined();
    else if (closed !== undefined) expect(closed).toMatchObject({ store: subject.name, operation: "close", timeoutMs: 500 });
  });

  for (const how of ["withTimeout", "the caller's AbortSignal"] as const) {
    it(`never starts the side effect after ${how} aborted a claim the frozen server answers late, and gives the lease back`, async () => {
      // The store's own deadline is far away: the claim is still in flight when the attempt gives up.
      const store = await subject.create(20_000);
      cleanups.push(() => store.close());
      // Each node call numbers itself, so the side effect says which call ran it.
      const ran: number[] = [];
      const keys: string[] = [];
      let calls = 0;
      const body: TestNode = async (_s, config) => {
        const call = ++calls;
        keys.push(idempotencyKey(config));
        return { result: String(await runOnce(config, "charge", async () => ran.push(call), { store, waitMs: 10_000 })) };
      };
      const warm = oneNodeGraph(body);
      await warm.invoke({ requestId: "warm" }, threadConfig());
      ran.length = 0;

      const graph = oneNodeGraph(how === "withTimeout" ? withTimeout(body, 1500) : body);
      const config = threadConfig();
      const controller = new AbortController();
      subject.server().pause();
      const started = performance.now();
      const run = graph.invoke({ requestId: "aborted" }, { ...config, signal: controller.signal }).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      if (how === "the caller's AbortSignal") setTimeout(() => controller.abort(new Error("caller gave up")), 500).unref();
      const error = await run;
      expect(performance.now() - started).toBeLessThan(5000);
      expect(calls).toBe(2);
      if (how === "withTimeout") expect(error).toBeInstanceOf(TimeoutError);
      else expect(error?.message).toMatch(/caller gave up|abort/i);

      // Now the server answers the claim, which it grants: the side effect must still not run.
      subject.server().resume();
      // Resuming the thread re-runs the same node task (same key) from another chain: it gets the key only because
      // the late grant was released; a leftover lease would hold it for 5 minutes and end in a conflict.
      const resumed = await graph.invoke(null, config);
      expect(calls).toBe(3);
      expect(keys[2]).toBe(keys[1]);
      expect(resumed.result).toBe("1");
      expect(ran).toEqual([3]);
      // The resumed run's side effect is the only one; nothing fires later either.
      await sleep(300);
      expect(ran).toEqual([3]);
    });
  }

  for (const retrier of ["withRetry", "LangGraph's RetryPolicy"] as const) {
    it(`lets ${retrier}'s next attempt take over the lease its own attempt left after a failed complete(), without waiting waitMs`, async () => {
      const store = await subject.create(2000);
      cleanups.push(() => store.close());
      let charges = 0;
      let restore: (() => Promise<void>) | undefined;
      const keys = new Set<string>();
      const node: TestNode = async (_s, config) => {
        keys.add(`${idempotencyKey(config)}:run:charge:0`);
        return {
          result: await runOnce(
            config,
            "charge",
            async () => {
              charges += 1;
              // The side effect succeeded; the store fails before its result is recorded, and recovers before the retry.
              restore = await subject.breakStore(store);
              setTimeout(() => void restore?.(), 100).unref();
              return `ch_${charges}`;
            },
            { store, waitMs: 20_000 },
          ),
        };
      };
      const graph =
        retrier === "withRetry"
          ? oneNodeGraph(withRetry(node, { retries: 3, minDelayMs: 500, maxDelayMs: 500, jitter: "none" }))
          : oneNodeGraph(node, { retryPolicy: { maxAttempts: 4, initialInterval: 500, jitter: false, logWarning: false } });
      const config = threadConfig();
      const started = performance.now();
      const out = await graph.invoke({ requestId: "r" }, config);
      const elapsed = performance.now() - started;
      expect(out.result).toBe("ch_1");
      expect(charges).toBe(1);
      // One backoff and a few round trips, far below the 20 s a wait on its own lease would take.
      expect(elapsed).toBeLessThan(5000);
      // The retry recorded the result under its own lease: any later caller of the key replays it.
      expect(keys.size).toBe(1);
      expect(await store.claim([...keys][0]!, 60_000)).toEqual({ status: "completed", value: '{"v":"ch_1"}' });
    });
  }

  it("still makes a different caller wait on a lease left by a failed complete(), then conflict", async () => {
    const store = await subject.create(2000);
    cleanups.push(() => store.close());
    let charges = 0;
    const node: TestNode = async (_s, config) => ({
      result: await runOnce(
        config,
        "charge",
        async () => {
          charges += 1;
          const restore = await subject.breakStore(store);
          setTimeout(() => void restore(), 100).unref();
          return `ch_${charges}`;
        },
        { store, waitMs: 300 },
      ),
    });
    const graph = oneNodeGraph(node);
    const config = threadConfig();
    await expect(graph.invoke({ requestId: "r" }, config)).rejects.toThrow(new RegExp(`${subject.name}\\.complete failed`));
    await sleep(300);
    // Resuming the thread is a new run of the task, not the chain that holds the lease: it cannot know whether that
    // holder is still alive, so it waits and gives up with IdempotencyConflictError; the side effect is not repeated.
    await expect(graph.invoke(null, config)).rejects.toThrow(/held by another caller/);
    expect(charges).toBe(1);
  });
});
