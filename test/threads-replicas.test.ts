/**
 * guardThreads across real processes: replicas share PostgreSQL (checkpointer, and the lease tables for the Postgres
 * store) or Redis (the Redis store). Each suite runs two runs on one thread in two processes under each strategy, kills
 * a holder with SIGKILL, and checks in the database that no two runs of a thread ever overlapped.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgresServer } from "./support/postgres.js";
import type { RedisServer } from "./support/redis.js";
import { type Replica, startThreadReplica, startThreadServers, stopThreadServers, type ThreadServers } from "./support/thread-replicas.js";

const LEASE_MS = 1500;

let servers: ThreadServers;
let postgres: PostgresServer;
let redis: RedisServer;
let db: pg.Client;
const replicas = new Set<Replica>();

beforeAll(async () => {
  servers = await startThreadServers();
  ({ postgres, redis, db } = servers);
}, 60_000);

afterAll(() => stopThreadServers(servers, replicas));

/** Overlaps recorded so far; waits out the replicas' delayed overlap checks (300 ms after each run's start). */
async function overlaps(): Promise<number> {
  await new Promise((r) => setTimeout(r, 500));
  return (await db.query("SELECT 1 FROM run_overlaps")).rowCount ?? 0;
}

function startReplica(name: string, store: string): Replica {
  const replica = startThreadReplica({ name, store, databaseUrl: postgres.url, redisUrl: redis.url, leaseMs: LEASE_MS });
  replicas.add(replica);
  replica.exited.then(() => replicas.delete(replica));
  return replica;
}

describe.each(["postgres", "redis"])("guardThreads across two processes on the %s store", (store) => {
  let a: Replica;
  let b: Replica;
  beforeAll(async () => {
    a = startReplica(`a-${store}`, store);
    b = startReplica(`b-${store}`, store);
    await Promise.all([a.ready, b.ready]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("reject: exactly one run proceeds, the other gets ThreadBusyError", async () => {
    const thread = `reject-${randomUUID()}`;
    a.send({ id: "r1", thread, turn: "first", ms: 800, strategy: "reject" });
    await a.answer("r1", "started");
    b.send({ id: "r2", thread, turn: "second", ms: 0, strategy: "reject" });
    const second = await b.answer("r2");
    expect(second.error).toBe("ThreadBusyError");
    expect(second.message).toContain(thread);
    const first = await a.answer("r1");
    expect(first.turns).toEqual(["first", "r1:done"]);
    expect(await overlaps()).toBe(0);
  }, 30_000);

  it("enqueue: both complete, in order, and the final state holds both turns", async () => {
    const thread = `enqueue-${randomUUID()}`;
    a.send({ id: "e1", thread, turn: "first", ms: 600, strategy: "enqueue" });
    await a.answer("e1", "started");
    b.send({ id: "e2", thread, turn: "second", ms: 0, strategy: "enqueue" });
    const [first, second] = await Promise.all([a.answer("e1"), b.answer("e2")]);
    expect(first.turns).toEqual(["first", "e1:done"]);
    expect(second.turns).toEqual(["first", "e1:done", "second", "e2:done"]);
    expect(await overlaps()).toBe(0);
  }, 30_000);

  it("interrupt: the first run ends cancelled with its checkpoint intact, the second completes", async () => {
    const thread = `interrupt-${randomUUID()}`;
    a.send({ id: "i1", thread, turn: "first", ms: 20_000, strategy: "interrupt" });
    await a.answer("i1", "started");
    b.send({ id: "i2", thread, turn: "second", ms: 0, strategy: "interrupt" });
    const [first, second] = await Promise.all([a.answer("i1"), b.answer("i2")]);
    expect(first.ok).toBeUndefined();
    expect(first.message).toMatch(/abort/i);
    expect(first.cancelled).toBeGreaterThanOrEqual(1);
    // "first" was checkpointed before the cancel; its node never finished, so no "i1:done".
    expect(second.turns).toEqual(["first", "second", "i2:done"]);
    expect(await overlaps()).toBe(0);
  }, 30_000);

  it("SIGKILL of the holder: the thread is usable after leaseMs, and no two runs ever overlap", async () => {
    const thread = `kill-${randomUUID()}`;
    const victim = startReplica(`victim-${store}`, store);
    await victim.ready;
    victim.send({ id: "k1", thread, turn: "doomed", ms: 60_000, strategy: "enqueue" });
    await victim.answer("k1", "started");
    b.send({ id: "k2", thread, turn: "after", ms: 0, strategy: "enqueue" });
    await new Promise((r) => setTimeout(r, 100));
    const killedAt = Date.now();
    victim.child.kill("SIGKILL");
    await victim.exited;
    const after = await b.answer("k2");
    expect(after.turns).toEqual(["doomed", "after", "k2:done"]);
    // It waited for the lease to expire (generous bound above: the lease plus polling, never forever).
    expect(Date.now() - killedAt).toBeLessThan(LEASE_MS * 10);
    // With reject, a thread freed by expiry takes a new run at once.
    a.send({ id: "k3", thread, turn: "again", ms: 0, strategy: "reject" });
    expect((await a.answer("k3")).ok).toBe(true);
    expect(await overlaps()).toBe(0);
  }, 30_000);
});
