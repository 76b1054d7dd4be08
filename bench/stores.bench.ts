/**
 * Idempotency store benchmarks: claim+complete latency and throughput per store (in-memory, PostgreSQL, Redis) with
 * 1 and 32 concurrent callers, and what `runOnce` adds to a LangGraph node with each store. PostgreSQL and Redis are
 * started on loopback for the run (the same throwaway servers the tests use) and stopped after.
 *
 * Run: npm run bench:stores   (BENCH_TIME_MS=2000 for longer samples)
 */
import { randomUUID } from "node:crypto";
import { Annotation, type LangGraphRunnableConfig, StateGraph } from "@langchain/langgraph";
import { Bench } from "tinybench";
import { PostgresIdempotencyStore } from "../src/integrations/postgres.js";
import { RedisIdempotencyStore } from "../src/integrations/redis.js";
import { type IdempotencyStore, InMemoryIdempotencyStore, runOnce } from "../src/index.js";
import { startPostgres } from "../test/support/postgres.js";
import { startRedis } from "../test/support/redis.js";

const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 1000);
const CONCURRENCY = 32;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const INVOKES = Number(process.env.BENCH_INVOKES ?? 200);

async function claimComplete(store: IdempotencyStore): Promise<void> {
  const key = randomUUID();
  const claim = await store.claim(key, 60_000);
  if (claim.status !== "acquired") throw new Error(`expected a fresh key to be acquired, got ${claim.status}`);
  if (!(await store.complete(key, claim.token, '{"v":{"id":"ch_1","amount":4200}}', 60_000))) throw new Error("complete failed");
}

const State = Annotation.Root({ out: Annotation<number> });

/** A one-node graph; with a store the node's work goes through runOnce (each invoke is a new thread: a miss). */
function graphWith(store: IdempotencyStore | undefined) {
  const work = () => 42;
  const node = store
    ? async (_s: unknown, config: LangGraphRunnableConfig) => ({ out: await runOnce(config, "effect", work, { store }) })
    : async () => ({ out: work() });
  return new StateGraph(State).addNode("work", node).addEdge("__start__", "work").compile();
}

const fmtUs = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

async function main(): Promise<void> {
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const pgStore = new PostgresIdempotencyStore({ connectionString: postgres.url, max: CONCURRENCY, sweepIntervalMs: 0 });
  await pgStore.setup();
  const redisStore = new RedisIdempotencyStore({ url: redis.url });
  await redisStore.setup();
  const stores: Array<[string, IdempotencyStore]> = [
    // Room for every key the run creates: below capacity, where the store is meant to run.
    ["in-memory", new InMemoryIdempotencyStore({ maxEntries: 10_000_000 })],
    ["postgres", pgStore],
    ["redis", redisStore],
  ];
  // The default in-memory store (maxEntries 10_000) once a long-running process has filled it.
  const full = new InMemoryIdempotencyStore();
  for (let i = 0; i < 10_000; i++) {
    const claim = await full.claim(`fill-${i}`, 60_000);
    if (claim.status === "acquired") await full.complete(`fill-${i}`, claim.token, "{}", 86_400_000);
  }
  try {
    const bench = new Bench({ time: TIME_MS, warmupTime: 200 });
    bench.add("in-memory, default size, full claim+complete x1", () => claimComplete(full));
    for (const [name, store] of stores) {
      bench.add(`${name} claim+complete x1`, () => claimComplete(store));
      bench.add(`${name} claim+complete x${CONCURRENCY}`, async () => {
        await Promise.all(Array.from({ length: CONCURRENCY }, () => claimComplete(store)));
      });
    }
    await bench.run();

    const stat = (name: string) => {
      const task = bench.getTask(name);
      const result = task?.result as { latency?: { mean: number; p50: number; p99: number } } | undefined;
      if (!result?.latency) throw new Error(`no result for ${name}`);
      return result.latency;
    };
    console.log(`\nclaim+complete per store (node ${process.version}, ${TIME_MS} ms per task)`);
    console.log("store       callers  latency p50   latency p99   throughput (1000 / mean batch time x callers)");
    for (const [name] of stores) {
      const one = stat(`${name} claim+complete x1`);
      const many = stat(`${name} claim+complete x${CONCURRENCY}`);
      console.log(
        `${name.padEnd(11)} 1        ${fmtUs(one.p50).padEnd(13)} ${fmtUs(one.p99).padEnd(13)} ${Math.round(1000 / one.mean)} ops/s`,
      );
      // One sample is a batch of 32 concurrent claim+complete pairs: its duration is the slowest caller's latency.
      console.log(
        `${name.padEnd(11)} ${String(CONCURRENCY).padEnd(8)} ${fmtUs(many.p50).padEnd(13)} ${fmtUs(many.p99).padEnd(13)} ${Math.round((CONCURRENCY * 1000) / many.mean)} ops/s`,
      );
    }
    const fullStat = stat("in-memory, default size, full claim+complete x1");
    console.log(
      `in-memory, default maxEntries (10k), full: 1 caller p50 ${fmtUs(fullStat.p50)}, p99 ${fmtUs(fullStat.p99)}, ${Math.round(1000 / fullStat.mean)} ops/s`,
    );
    // runOnce's cost per node: the graphs run in interleaved rounds of INVOKES sequential invokes each; every variant
    // keeps the median over rounds of its wall time and of this process's CPU time per invoke. On a shared machine
    // wall time carries other processes' pauses; CPU time is the part the node's own process pays (the store
    // server's work and the network wait are in wall time only).
    const graphs: Array<[string, ReturnType<typeof graphWith>]> = [
      ["bare node", graphWith(undefined)],
      ...stores.map(([name, store]): [string, ReturnType<typeof graphWith>] => [`runOnce ${name}`, graphWith(store)]),
    ];
    const wall = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    for (const [, graph] of graphs)
      for (let i = 0; i < 50; i++) await graph.invoke({ out: 0 }, { configurable: { thread_id: randomUUID() } });
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, graph] of graphs) {
        const cpuStart = process.cpuUsage();
        const wallStart = performance.now();
        for (let i = 0; i < INVOKES; i++) await graph.invoke({ out: 0 }, { configurable: { thread_id: randomUUID() } });
        const wallMs = (performance.now() - wallStart) / INVOKES;
        const used = process.cpuUsage(cpuStart);
        wall.set(name, [...(wall.get(name) ?? []), wallMs]);
        cpu.set(name, [...(cpu.get(name) ?? []), (used.user + used.system) / 1000 / INVOKES]);
      }
    }
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    const baseWall = median(wall.get("bare node")!);
    const baseCpu = median(cpu.get("bare node")!);
    console.log(
      `\nrunOnce on a one-node graph (${ROUNDS} rounds x ${INVOKES} invokes; bare node: wall ${fmtUs(baseWall)}, CPU ${fmtUs(baseCpu)})`,
    );
    console.log("variant            wall/invoke   added wall    CPU/invoke    added CPU     CPU ratio");
    for (const [name] of stores) {
      const w = median(wall.get(`runOnce ${name}`)!);
      const c = median(cpu.get(`runOnce ${name}`)!);
      console.log(
        `runOnce ${name.padEnd(10)} ${fmtUs(w).padEnd(13)} ${fmtUs(w - baseWall).padEnd(13)} ${fmtUs(c).padEnd(13)} ${fmtUs(c - baseCpu).padEnd(13)} ${(c / baseCpu).toFixed(2)}x`,
      );
    }
  } finally {
    await Promise.all([pgStore.close(), redisStore.close()]);
    await Promise.all([postgres.stop(), redis.stop()]);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
