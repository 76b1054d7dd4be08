/**
 * Two replica processes sharing one PostgreSQL database:
 * 1. the same booking request reaches replica a and replica b at the same moment (two deliveries, two threads): one
 *    seat is held; the duplicate delivery gets the same hold back and ends, naming the thread that carries the booking;
 * 2. that thread stops at the approval interrupt on the replica that ran it; the other replica resumes it: the card is
 *    authorized once and captured once.
 *
 * Run: DATABASE_URL=postgres://user:pass@localhost:5432/db npx tsx examples/postgres-replicas/main.ts
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { runIfEntryPoint } from "../shared/run-main.js";
import { type ReplicaOutcome, createReplica } from "./replica.js";

const REPLICA_SCRIPT = fileURLToPath(new URL("./replica.ts", import.meta.url));

/** Runs `replica.ts` in its own node process and returns the JSON line it printed. */
function runReplica(url: string, name: string, args: string[]): Promise<ReplicaOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", REPLICA_SCRIPT, ...args], {
      env: { ...process.env, DATABASE_URL: url, REPLICA: name },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line) as ReplicaOutcome);
      else reject(new Error(`replica ${name} ${args.join(" ")} exited with ${code}: ${err || out}`));
    });
  });
}

/** What the run showed, read back from the database. */
export interface ReplicasReport {
  duplicates: [ReplicaOutcome, ReplicaOutcome];
  interrupted: ReplicaOutcome;
  resumed: ReplicaOutcome;
  /** Seats held for the request (1: the duplicate delivery did not hold a second one). */
  holds: number;
  /** Card authorizations for the interrupted thread (1: the resume on the other replica replayed it). */
  authorizations: number;
  captures: number;
}

/** Runs the scenario against `url`; `runId` keeps several runs on one database apart. */
export async function main(url: string, runId: string = String(Date.now())): Promise<ReplicasReport> {
  // Migrations once, before the replicas start (concurrent CREATE TABLE IF NOT EXISTS can still race).
  const setup = createReplica(url, "setup");
  try {
    await setup.setup();
  } finally {
    await setup.close();
  }
  const request = `booking-${runId}`;
  const duplicates = await Promise.all([
    runReplica(url, "a", ["book", `${request}-delivery-1`, request, "12A"]),
    runReplica(url, "b", ["book", `${request}-delivery-2`, request, "12A"]),
  ]);
  const interrupted = duplicates.find((o) => o.waitingFor !== undefined);
  if (interrupted === undefined) throw new Error(`no delivery reached the approval step: ${JSON.stringify(duplicates)}`);
  const resumed = await runReplica(url, interrupted.replica === "a" ? "b" : "a", ["approve", interrupted.thread]);

  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    const count = async (sql: string, values: unknown[]) => Number((await pool.query<{ n: string }>(sql, values)).rows[0]?.n ?? 0);
    const holds = await count("SELECT count(*) AS n FROM example_holds WHERE request_id = $1", [request]);
    const payments = "SELECT count(*) AS n FROM example_payments WHERE kind = $1 AND idempotency_key LIKE $2";
    const threadKey = `${interrupted.thread}:%`;
    return {
      duplicates,
      interrupted,
      resumed,
      holds,
      authorizations: await count(payments, ["authorize", threadKey]),
      captures: await count(payments, ["capture", threadKey]),
    };
  } finally {
    await pool.end();
  }
}

runIfEntryPoint(import.meta.url, async () => {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === "") throw new TypeError("set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres");
  const report = await main(url);
  const [a, b] = report.duplicates;
  for (const o of [a, b]) {
    const role = o.duplicateOf === undefined ? "carries the booking" : `duplicate of ${o.duplicateOf}, ended`;
    console.log(`replica ${o.replica}, thread ${o.thread}: hold #${o.holdId} (${role})`);
  }
  console.log(`seats held for the request: ${report.holds}`);
  console.log(`replica ${report.interrupted.replica} stopped at: ${report.interrupted.waitingFor}`);
  console.log(`replica ${report.resumed.replica} resumed it: ${report.resumed.status}`);
  console.log(`card authorizations: ${report.authorizations}, captures: ${report.captures}`);
});
