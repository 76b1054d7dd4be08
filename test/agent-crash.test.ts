/**
 * The same `createAgent` agent (ChatOpenAI against the fake provider, `PostgresSaver`, `resilienceMiddleware` with an
 * idempotent tool over `PostgresIdempotencyStore`) is SIGKILLed after its tool charged and before the tools step was
 * checkpointed, then resumed in a fresh process: the charge happened once. Without `idempotent` it happens twice,
 * which is what the test would see if the middleware did nothing.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { effectsOf } from "./fixtures/crash-harness.js";
import { type FakeProvider, startFakeProvider } from "./support/fake-provider.js";
import { type PostgresServer, startPostgres } from "./support/postgres.js";

const WORKER = resolve(import.meta.dirname, "fixtures", "agent-crash-worker.ts");

let postgres: PostgresServer;
let provider: FakeProvider;
let db: pg.Client;

beforeAll(async () => {
  [postgres, provider] = await Promise.all([startPostgres(), startFakeProvider()]);
  db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  await db.query(
    "CREATE TABLE effects (id serial PRIMARY KEY, thread_id text NOT NULL, name text NOT NULL, effect_key text NOT NULL, pid int NOT NULL)",
  );
  const saver = PostgresSaver.fromConnString(postgres.url);
  await saver.setup();
  await saver.end();
}, 120_000);

afterAll(async () => {
  await db?.end();
  await Promise.all([postgres?.stop(), provider?.close()]);
});

interface Run {
  lines: string[];
  stderr: string;
  signal: NodeJS.Signals | null;
}

/** Runs the worker; SIGKILLs it as soon as it prints `killAt`. */
function runWorker(command: Record<string, unknown>, killAt?: string): Promise<Run> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ["--import", "tsx", WORKER, JSON.stringify(command)], {
    env: { ...process.env, DATABASE_URL: postgres.url, OPENAI_BASE_URL: provider.openaiBaseURL },
  });
  const lines: string[] = [];
  let buffered = "";
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdout.on("data", (c: Buffer) => {
    buffered += c.toString();
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      if (line === killAt) child.kill("SIGKILL");
    }
  });
  return new Promise((done) => child.on("exit", (_code, signal) => done({ lines, stderr, signal })));
}

function finalOf(run: Run): { tools: string[]; answers: string[] } {
  const line = run.lines.find((l) => l.startsWith("done:"));
  if (line === undefined) throw new Error(`worker did not finish:\n${run.lines.join("\n")}\n${run.stderr}`);
  return JSON.parse(line.slice("done:".length)) as { tools: string[]; answers: string[] };
}

describe("createAgent with resilienceMiddleware, PostgresSaver and PostgresIdempotencyStore", () => {
  for (const idempotent of [true, false]) {
    it(`${idempotent ? "charges once" : "without idempotent, charges again"} when killed after the charge and resumed in a new process`, async () => {
      const thread = `agent-crash-${idempotent}-${randomUUID()}`;
      provider.clear();
      provider.enqueue({ reply: { toolCalls: [{ name: "charge", args: { amount: 42 }, id: `call_${randomUUID().slice(0, 8)}` }] } });
      const killed = await runWorker({ thread, resume: false, blockAfterTool: true, idempotent }, "blocked");
      expect(killed.signal).toBe("SIGKILL");
      expect(killed.lines).toContain("charged");
      expect(await effectsOf(db, thread)).toEqual({ charge: { executions: 1, keys: 1 } });

      const resumed = await runWorker({ thread, resume: true, blockAfterTool: false, idempotent });
      expect(resumed.lines).toContain("start:resume");
      const final = finalOf(resumed);
      expect(final.answers).toContain("ok");
      if (idempotent) {
        expect(resumed.lines).not.toContain("charged");
        expect(await effectsOf(db, thread)).toEqual({ charge: { executions: 1, keys: 1 } });
        // The resumed run answers with the receipt recorded by the killed process.
        const { rows } = await db.query<{ id: number }>("SELECT id FROM effects WHERE thread_id = $1", [thread]);
        expect(final.tools).toEqual([`receipt ${rows[0]!.id}`]);
      } else {
        expect(resumed.lines).toContain("charged");
        expect((await effectsOf(db, thread)).charge?.executions).toBe(2);
      }
      // One model call before the kill, one after the resumed tools step.
      expect(provider.count("openai")).toBe(2);
    }, 120_000);
  }
});
