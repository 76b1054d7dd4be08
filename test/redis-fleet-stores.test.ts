/**
 * RedisBreakerStore and RedisSemaphoreStore against a real redis-server, in one process: the happy path's Redis
 * traffic, pub/sub propagation between two stores, the versioned state, a dead server, and fleet slots.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  BulkheadRejectedError,
  CHANNELS,
  type CircuitBreaker,
  createCircuitBreaker,
  InMemorySemaphoreStore,
  type StoreErrorEvent,
  subscribe,
  withBulkhead,
} from "../src/index.js";
import { RedisBreakerStore, RedisSemaphoreStore } from "../src/integrations/redis.js";
import type { BreakerLink } from "../src/resilience/breaker-store.js";
import { httpError } from "./support/graph.js";
import { waitFor } from "./support/ports.js";
import { type RedisServer, startRedis } from "./support/redis.js";

let redis: RedisServer;
let admin: Redis;
const cleanup: Array<() => unknown> = [];
beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
}, 30_000);
beforeEach(async () => {
  await admin.flushall();
  await admin.config("RESETSTAT");
});
afterAll(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  admin?.disconnect();
  await redis?.stop();
});

/** Script calls the server executed so far (EVALSHA and EVAL). */
async function scriptCalls(): Promise<number> {
  const info = await admin.info("commandstats");
  return [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

let names = 0;
function sharedBreaker(store: RedisBreakerStore, volumeThreshold = 4): CircuitBreaker {
  const breaker = createCircuitBreaker({ name: `fleet-${(names += 1)}`, volumeThreshold, resetTimeout: 60_000, store });
  cleanup.push(() => breaker.shutdown());
  return breaker;
}
function store(options: Partial<ConstructorParameters<typeof RedisBreakerStore>[0]> = {}): RedisBreakerStore {
  const s = new RedisBreakerStore({ url: redis.url, flushIntervalMs: 60_000, ...options });
  cleanup.push(() => s.close());
  return s;
}
const joined = (b: CircuitBreaker) => waitFor(async () => b.sharedState !== undefined, 5000, "the breaker reads the fleet state");

describe("RedisBreakerStore", () => {
  it("makes no Redis call per successful call: 1,000 calls, one script call (the first read of the state)", async () => {
    const breaker = sharedBreaker(store());
    await joined(breaker);
    const before = await scriptCalls();
    for (let i = 0; i < 1000; i++) await breaker.execute(() => i);
    expect((await scriptCalls()) - before).toBe(0);
    // A failure is sent at once, with the successes counted so far.
    await expect(breaker.execute(() => Promise.reject(httpError(503)))).rejects.toMatchObject({ status: 503 });
    await waitFor(async () => (await scriptCalls()) - before === 1, 5000, "one flush");
    const window = await admin.hgetall(`langgraph-ops:breaker:{${breaker.name}}:window`);
    const sum = (suffix: string) =>
      Object.entries(window)
        .filter(([k]) => k.endsWith(suffix))
        .reduce((n, [, v]) => n + Number(v), 0);
    expect({ calls: sum(":n"), failures: sum(":f") }).toEqual({ calls: 1001, failures: 1 });
  });

  it("opens every replica's breaker through pub/sub when the pooled window crosses the threshold", async () => {
    const [a, b] = [store(), store()];
    const name = `fleet-${(names += 1)}`;
    const changes: string[] = [];
    const settings = {
      errorThresholdPercentage: 50,
      volumeThreshold: 4,
      rollingCountTimeout: 10_000,
      rollingCountBuckets: 10,
      resetTimeout: 60_000,
    };
    const links: BreakerLink[] = [a, b].map((s, i) =>
      s.link(name, { settings, now: Date.now, onChange: () => changes.push(`${i}:${links[i]?.view()?.state ?? "local"}`) }),
    );
    cleanup.push(() => {
      for (const l of links) l.close();
    });
    await waitFor(async () => links.every((l) => l.view()?.state === "closed"), 5000, "both links read the state");
    // Two failures from each replica: four in the pooled window, 100 % failures.
    for (const link of links) {
      link.record(true);
      await link.hold();
      link.record(true);
      await link.hold();
    }
    await waitFor(async () => links.every((l) => l.view()?.state === "open"), 5000, "both links open");
    expect(changes).toContain("1:open");
    expect(await admin.hget(`langgraph-ops:breaker:{${name}}:state`, "state")).toBe("open");
    // One probe lease: the first asker gets it, the second does not (once the reset period is over).
    await admin.hset(`langgraph-ops:breaker:{${name}}:state`, "opened_at", Date.now() - 61_000);
    const [first, second] = [await links[0]?.tryProbe(), await links[1]?.tryProbe()];
    expect(first).toEqual({ granted: true });
    expect(second).toMatchObject({ granted: false, view: { state: "half_open" } });
    await links[0]?.settleProbe(true);
    await waitFor(async () => links.every((l) => l.view()?.state === "closed"), 5000, "closed everywhere");
  });

  it("acts on the local window and publishes storeError for a state of another version", async () => {
    const events: StoreErrorEvent[] = [];
    cleanup.push(subscribe(CHANNELS.storeError, (e) => events.push(e)));
    const name = `fleet-${names + 1}`;
    await admin.hset(`langgraph-ops:breaker:{${name}}:state`, "v", "2", "state", "open", "opened_at", Date.now());
    const breaker = sharedBreaker(store());
    expect(breaker.name).toBe(name);
    await waitFor(async () => events.length > 0, 5000, "a store error");
    expect(events[0]).toMatchObject({ store: "RedisBreakerStore", operation: "flush" });
    expect(events[0]?.error.message).toMatch(/breaker state version 2 is not 1/);
    expect(breaker.sharedState).toBeUndefined();
    expect(breaker.state).toBe("closed");
    await expect(breaker.execute(() => "ok")).resolves.toBe("ok");
  });

  it("never fails a call when nothing listens at the address; the local breaker still opens", async () => {
    const events: StoreErrorEvent[] = [];
    cleanup.push(subscribe(CHANNELS.storeError, (e) => events.push(e)));
    const dead = store({ url: "redis://127.0.0.1:1", operationTimeoutMs: 100 });
    const breaker = sharedBreaker(dead, 2);
    for (let i = 0; i < 3; i++) await expect(breaker.execute(() => i)).resolves.toBe(i);
    await waitFor(async () => events.some((e) => e.store === "RedisBreakerStore"), 5000, "a store error");
    for (let i = 0; i < 4; i++) await expect(breaker.execute(() => Promise.reject(httpError(503)))).rejects.toMatchObject({ status: 503 });
    expect(breaker.state).toBe("open");
    expect(breaker.sharedState).toBeUndefined();
    expect(breaker.shared).toBe(true);
  });
});

describe("fleet bulkhead", () => {
  const gate = () => {
    let open!: () => void;
    const opened = new Promise<void>((r) => {
      open = r;
    });
    return { open, opened };
  };

  for (const [label, make] of [
    ["RedisSemaphoreStore", () => new RedisSemaphoreStore({ url: redis.url, leaseMs: 3000 })],
    ["InMemorySemaphoreStore", () => new InMemorySemaphoreStore({ leaseMs: 3000 })],
  ] as const) {
    it(`${label}: two wrapped nodes sharing a name hold one limit; a waiter gets the slot when it is released`, async () => {
      const slots = make();
      if ("close" in slots) cleanup.push(() => slots.close());
      const g = gate();
      const holder = withBulkhead(async () => g.opened.then(() => ({ by: "holder" })), { name: "shared-slots", limit: 1, store: slots });
      const other = withBulkhead(async () => ({ by: "other" }), { name: "shared-slots", limit: 1, store: slots });
      const waiting = withBulkhead(async () => ({ by: "waiter" }), { name: "shared-slots", limit: 1, queue: 1, store: slots });
      const held = holder({}, {});
      await new Promise((r) => setTimeout(r, 50));
      await expect(other({}, {})).rejects.toBeInstanceOf(BulkheadRejectedError);
      const waited = waiting({}, {});
      g.open();
      await expect(held).resolves.toEqual({ by: "holder" });
      await expect(waited).resolves.toEqual({ by: "waiter" });
    });
  }

  it("runs on the local limit when the store cannot be reached", async () => {
    const dead = new RedisSemaphoreStore({ url: "redis://127.0.0.1:1", operationTimeoutMs: 100 });
    cleanup.push(() => dead.close());
    const events: StoreErrorEvent[] = [];
    cleanup.push(subscribe(CHANNELS.storeError, (e) => events.push(e)));
    const node = withBulkhead(async () => ({ ok: true }), { name: "dead-slots", limit: 1, store: dead });
    await expect(node({}, {})).resolves.toEqual({ ok: true });
    expect(events.some((e) => e.store === "RedisSemaphoreStore" && e.operation === "acquire")).toBe(true);
  });

  it("requires a name with a store when the node function has none", () => {
    expect(() => withBulkhead((() => async () => ({}))(), { limit: 1, store: new InMemorySemaphoreStore() })).toThrow(
      /withBulkhead\(options\)\.name must be a non-empty string/,
    );
  });
});
