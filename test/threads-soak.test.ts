/**
 * Soak of guardThreads across processes: 8 replicas send 25 runs each on 20 shared threads with random strategies
 * (seeded), and three replicas are killed with SIGKILL mid-way and replaced. Afterwards, in the database: no two runs of
 * a thread overlapped, no thread has two checkpoints with one parent (no fork), and every run is accounted for.
 */
import { randomUUID } from "node:crypto";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import type pg from "pg";
import { seededRandom } from "../bench/support.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgresServer } from "./support/postgres.js";
import type { RedisServer } from "./support/redis.js";
import {
  type Answer,
  type Replica,
  type ReplicaRun,
  startThreadReplica,
  startThreadServers,
  stopThreadServers,
  type ThreadServers,
} from "./support/thread-replicas.js";

const REPLICAS = 8;
const RUNS_PER_REPLICA = 25;
const THREADS = 20;
const KILLS = 3;
// Long enough that a loaded machine does not miss a renewal (a missed one is a takeover, by design).
const LEASE_MS = 2000;
const STRATEGIES = ["reject", "enqueue", "interrupt"] as const;

let servers: ThreadServers;
let postgres: PostgresServer;
let redis: RedisServer;
let db: pg.Client;
const live = new Set<Replica>();

beforeAll(async () => {
  servers = await startThreadServers();
  ({ postgres, redis, db } = servers);
}, 60_000);

afterAll(() => stopThreadServers(servers, live));

describe.each(["postgres", "redis"])("guardThreads soak on the %s store", (store) => {
  it(`${REPLICAS} processes x ${RUNS_PER_REPLICA} runs on ${THREADS} threads, random strategies, ${KILLS} kills: no overlap, no fork, every run accounted for`, async () => {
    const seed = Number(process.env.SOAK_SEED ?? 20_261_202);
    const random = seededRandom(seed);
    const prefix = `soak-${store}-${randomUUID().slice(0, 8)}`;
    const threads = Array.from({ length: THREADS }, (_, i) => `${prefix}-t${i}`);
    const start = (name: string): Replica => {
      const replica = startThreadReplica({ name, store, databaseUrl: postgres.url, redisUrl: redis.url, leaseMs: LEASE_MS });
      live.add(replica);
      return replica;
    };
    const sent: Array<{ run: ReplicaRun; replica: Replica }> = [];
    const killed = new Set<Replica>();
    const killAt = new Set(Array.from({ length: KILLS }, (_, k) => Math.floor(((k + 1) * RUNS_PER_REPLICA) / (KILLS + 1))));
    const lanes = Array.from({ length: REPLICAS }, (_, i) => start(`${prefix}-r${i}`));
    await Promise.all(lanes.map((r) => r.ready));
    for (let step = 0; step < RUNS_PER_REPLICA; step++) {
      if (killAt.has(step)) {
        // Kill the lane most likely to hold a thread (the one with the latest run), then replace it.
        const lane = Math.floor(random() * REPLICAS);
        const victim = lanes[lane] as Replica;
        victim.child.kill("SIGKILL");
        await victim.exited;
        killed.add(victim);
        live.delete(victim);
        const replacement = start(`${prefix}-r${lane}-b${step}`);
        await replacement.ready;
        lanes[lane] = replacement;
      }
      for (const replica of lanes) {
        const run: ReplicaRun = {
          id: randomUUID(),
          thread: threads[Math.floor(random() * THREADS)] as string,
          turn: "",
          ms: Math.floor(random() * 120),
          strategy: STRATEGIES[Math.floor(random() * STRATEGIES.length)] as string,
        };
        run.turn = run.id;
        replica.send(run);
        sent.push({ run, replica });
      }
      await new Promise((r) => setTimeout(r, 20 + Math.floor(random() * 40)));
    }
    const answers = new Map<string, Answer>();
    await Promise.all(
      sent
        .filter(({ replica }) => !killed.has(replica))
        .map(async ({ run, replica }) => {
          answers.set(run.id, await replica.answer(run.id));
        }),
    );
    await Promise.all(lanes.map((r) => r.stop()));
    for (const r of lanes) live.delete(r);

    // Every run is accounted for: answered ok, busy or interrupted, or lost with the process that was killed.
    const tally = { ok: 0, busy: 0, interrupted: 0, killed: 0 };
    for (const { run, replica } of sent) {
      const answer = answers.get(run.id);
      if (answer === undefined) {
        expect(killed.has(replica)).toBe(true);
        tally.killed++;
      } else if (answer.ok === true) tally.ok++;
      else if (answer.error === "ThreadBusyError") tally.busy++;
      else {
        expect(answer.message, JSON.stringify(answer)).toMatch(/abort/i);
        tally.interrupted++;
      }
    }
    expect(tally.ok + tally.busy + tally.interrupted + tally.killed).toBe(REPLICAS * RUNS_PER_REPLICA);
    expect(tally.ok).toBeGreaterThan(0);

    // Never two runs of one thread at once.
    const overlaps = await db.query("SELECT thread_id, run FROM run_overlaps WHERE thread_id LIKE $1", [`${prefix}-%`]);
    expect(overlaps.rows).toEqual([]);
    // No fork: no checkpoint of a soak thread has two children.
    const forks = await db.query(
      `SELECT thread_id, parent_checkpoint_id, count(*)::int AS children FROM checkpoints
        WHERE thread_id LIKE $1 AND checkpoint_ns = '' AND parent_checkpoint_id IS NOT NULL
        GROUP BY thread_id, parent_checkpoint_id HAVING count(*) > 1`,
      [`${prefix}-%`],
    );
    expect(forks.rows).toEqual([]);
    // Each completed run left its turn in its thread's final state; a rejected run left nothing.
    const saver = PostgresSaver.fromConnString(postgres.url);
    try {
      for (const thread of threads) {
        const tuple = await saver.getTuple({ configurable: { thread_id: thread } });
        const turns = new Set((tuple?.checkpoint.channel_values.turns as string[] | undefined) ?? []);
        for (const { run } of sent.filter((s) => s.run.thread === thread)) {
          const answer = answers.get(run.id);
          if (answer?.ok === true) expect(turns.has(`${run.id}:done`)).toBe(true);
          if (answer?.error === "ThreadBusyError") expect(turns.has(run.id)).toBe(false);
        }
      }
    } finally {
      await saver.end();
    }
    process.stdout.write(`soak ${store} seed=${seed}: ${JSON.stringify(tally)}\n`);
  }, 120_000);
});
