/**
 * guardThreads across real processes: replicas share PostgreSQL (checkpointer, and the lease tables for the Postgres
 * store) or Redis (the Redis store). Each suite runs two runs on one thread in two processes under each strategy, kills
 * a holder with SIGKILL, and checks in the database that no two runs of a thread ever overlapped.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgres } from "./support/postgres.js";
import { type RedisServer, startRedis } from "./support/redis.js";

const REPLICA = fileURLToPath(new URL("./fixtures/thread-replica.ts", import.meta.url));
const LEASE_MS = 1500;

/** One answer line of a replica. */
export interface Answer {
  id: string;
  event?: "started";
  ok?: boolean;
  turns?: string[];
  error?: string;
  message?: string;
  cancelled?: number;
}

let postgres: PostgresServer;
let redis: RedisServer;
let db: pg.Client;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  await db.query("CREATE TABLE active (thread_id text NOT NULL, run text PRIMARY KEY, beat timestamptz NOT NULL)");
  await db.query("CREATE TABLE run_overlaps (thread_id text NOT NULL, run text NOT NULL)");
  const saver = PostgresSaver.fromConnString(postgres.url);
  await saver.setup();
  await saver.end();
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await db?.end();
  await Promise.all([postgres?.stop(), redis?.stop()]);
});

/** A replica process: send it runs, read its answers. */
export function startReplica(name: string, store: string) {
  const child = spawn(process.execPath, ["--import", "tsx", REPLICA], {
    env: { ...process.env, DATABASE_URL: postgres.url, REDIS_URL: redis.url, STORE: store, REPLICA: name, LEASE_MS: String(LEASE_MS) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.add(child);
  const answers: Answer[] = [];
  const waiters: Array<() => void> = [];
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  let buffered = "";
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        if (line === "ready") resolve();
        else answers.push(JSON.parse(line) as Answer);
        for (const w of waiters.splice(0)) w();
      }
    });
    child.once("exit", (code) => reject(new Error(`replica ${name} exited (${code}): ${stderr}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const answer = (id: string, event?: "started"): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const look = (): void => {
        const found = answers.find((a) => a.id === id && (event === undefined ? a.event === undefined : a.event === event));
        if (found !== undefined) resolve(found);
        else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`replica ${name} is gone: ${stderr}`));
        else waiters.push(look);
      };
      look();
    });
  const send = (run: { id: string; thread: string; turn: string; ms: number; strategy: string }): void => {
    child.stdin?.write(`${JSON.stringify(run)}\n`);
  };
  const stop = async (): Promise<void> => {
    child.stdin?.end();
    await exited;
    children.delete(child);
  };
  return { child, answers, ready, exited, send, answer, stop, stderr: () => stderr };
}

async function overlaps(): Promise<number> {
  return (await db.query("SELECT 1 FROM run_overlaps")).rowCount ?? 0;
}

describe.each(["postgres", "redis"])("guardThreads across two processes on the %s store", (store) => {
  let a: ReturnType<typeof startReplica>;
  let b: ReturnType<typeof startReplica>;
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
    children.delete(victim.child);
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
