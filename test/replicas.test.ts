/**
 * Two replicas (two processes) share PostgreSQL (checkpointer, Postgres store) and Redis, and receive the same request
 * ids at the same moment: the node guarded by withIdempotency runs once per request id, and both answer with its result.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgres } from "./support/postgres.js";
import { type RedisServer, startRedis } from "./support/redis.js";

const REPLICA = fileURLToPath(new URL("./fixtures/crash-replica.ts", import.meta.url));
const REQUESTS = 20;

interface Answer {
  requestId: string;
  ticket?: string;
  outcome?: string;
  error?: string;
}

let postgres: PostgresServer;
let redis: RedisServer;
let db: pg.Client;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  await db.query("CREATE TABLE tickets (id serial PRIMARY KEY, request_id text NOT NULL, replica text NOT NULL)");
  const saver = PostgresSaver.fromConnString(postgres.url);
  await saver.setup();
  await saver.end();
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await db?.end();
  await Promise.all([postgres?.stop(), redis?.stop()]);
});

function startReplica(name: string, store: string) {
  const child = spawn(process.execPath, ["--import", "tsx", REPLICA], {
    env: { ...process.env, DATABASE_URL: postgres.url, REDIS_URL: redis.url, STORE: store, REPLICA: name },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.add(child);
  const answers: Answer[] = [];
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
      }
    });
    child.once("exit", (code) => reject(new Error(`replica ${name} exited (${code}): ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, answers, ready, exited, stderr: () => stderr };
}

describe.each(["postgres", "redis"])("two replicas sharing the %s idempotency store", (store) => {
  it("run the guarded node once per request id received by both at the same time", async () => {
    const a = startReplica(`a-${store}`, store);
    const b = startReplica(`b-${store}`, store);
    await Promise.all([a.ready, b.ready]);
    const ids = Array.from({ length: REQUESTS }, () => `req-${store}-${randomUUID()}`);
    for (const requestId of ids) {
      const line = `${JSON.stringify({ requestId })}\n`;
      a.child.stdin?.write(line);
      b.child.stdin?.write(line);
    }
    a.child.stdin?.end();
    b.child.stdin?.end();
    expect(await a.exited, a.stderr()).toBe(0);
    expect(await b.exited, b.stderr()).toBe(0);

    const { rows } = await db.query<{ request_id: string; n: number }>(
      "SELECT request_id, count(*)::int AS n FROM tickets WHERE request_id = ANY($1) GROUP BY request_id",
      [ids],
    );
    expect(rows).toHaveLength(REQUESTS);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    for (const requestId of ids) {
      const fromA = a.answers.find((x) => x.requestId === requestId);
      const fromB = b.answers.find((x) => x.requestId === requestId);
      expect(fromA?.error ?? fromB?.error).toBeUndefined();
      expect(fromA?.ticket).toMatch(/^T-\d+$/);
      expect(fromB?.ticket).toBe(fromA?.ticket);
      expect([fromA?.outcome, fromB?.outcome].sort()).toEqual(["hit", "miss"]);
    }
  });
});
