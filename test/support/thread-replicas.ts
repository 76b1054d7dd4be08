/**
 * A replica process of test/fixtures/thread-replica.ts for the thread-guard suites: send it runs (one JSON line
 * each), read its answers.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { type PostgresServer, startPostgres } from "./postgres.js";
import { type RedisServer, startRedis } from "./redis.js";

const REPLICA = fileURLToPath(new URL("../fixtures/thread-replica.ts", import.meta.url));

/** One run sent to a replica. */
export interface ReplicaRun {
  id: string;
  thread: string;
  turn: string;
  ms: number;
  strategy: string;
}

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

/** A replica process: send it runs, read its answers. */
export function startThreadReplica(o: { name: string; store: string; databaseUrl: string; redisUrl: string; leaseMs: number }) {
  const { name, store } = o;
  const child = spawn(process.execPath, ["--import", "tsx", REPLICA], {
    env: { ...process.env, DATABASE_URL: o.databaseUrl, REDIS_URL: o.redisUrl, STORE: store, REPLICA: name, LEASE_MS: String(o.leaseMs) },
    stdio: ["pipe", "pipe", "pipe"],
  });
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
  const send = (run: ReplicaRun): void => {
    child.stdin?.write(`${JSON.stringify(run)}\n`);
  };
  const stop = async (): Promise<void> => {
    child.stdin?.end();
    await exited;
  };
  return { child, answers, ready, exited, send, answer, stop, stderr: () => stderr };
}

/** A started replica. */
export type Replica = ReturnType<typeof startThreadReplica>;

/** The servers the replicas share, and a connection to the database where they record their runs. */
export interface ThreadServers {
  postgres: PostgresServer;
  redis: RedisServer;
  db: pg.Client;
}

/**
 * Starts PostgreSQL and Redis for the replica suites, with the tables the replicas record runs (`active`) and overlaps
 * (`run_overlaps`) in, and the checkpointer's schema.
 */
export async function startThreadServers(): Promise<ThreadServers> {
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  await db.query(
    "CREATE TABLE active (thread_id text NOT NULL, run text PRIMARY KEY, started timestamptz NOT NULL, beat timestamptz NOT NULL, ended timestamptz, aborted boolean NOT NULL DEFAULT false)",
  );
  await db.query("CREATE TABLE run_overlaps (thread_id text NOT NULL, run text NOT NULL)");
  const saver = PostgresSaver.fromConnString(postgres.url);
  await saver.setup();
  await saver.end();
  return { postgres, redis, db };
}

/** Kills the replicas still running, then stops the servers. */
export async function stopThreadServers(servers: ThreadServers | undefined, replicas: Iterable<Replica>): Promise<void> {
  for (const replica of replicas) replica.child.kill("SIGKILL");
  await servers?.db.end();
  await Promise.all([servers?.postgres.stop(), servers?.redis.stop()]);
}
