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
    ["in-memory", new InMemoryIdempotencyStore({ maxEntries: 100_000 })],
    ["postgres", pgStore],
    ["redis", redisStore],
  ];
  try {
    const bench = new Bench({ time: TIME_MS, warmupTime: 200 });
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
    // runOnce's cost per node: the graphs run in interleaved rounds and each variant keeps the median of its round
    // medians, so a pause from another process on a shared machine does not land on one variant only.
    const graphs: Array<[string, ReturnType<typeof graphWith>]> = [
      ["bare node", graphWith(undefined)],
      ...stores.map(([name, store]): [string, ReturnType<typeof graphWith>] => [`runOnce ${name}`, graphWith(store)]),
    ];
    const medians = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      const graphBench = new Bench({ time: TIME_MS / 2, warmupTime: 100 });
      for (const [name, graph] of graphs) {
        graphBench.add(name, () => graph.invoke({ out: 0 }, { configurable: { thread_id: randomUUID() } }));
      }
      await graphBench.run();
      for (const [name] of graphs) {
        const result = graphBench.getTask(name)?.result as { latency?: { p50: number } } | undefined;
        if (!result?.latency) throw new Error(`no result for ${name}`);
        medians.set(name, [...(medians.get(name) ?? []), result.latency.p50]);
      }
    }
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    const base = median(medians.get("bare node")!);
    console.log(`\nrunOnce on a one-node graph, median per invoke over ${ROUNDS} rounds (bare node: ${fmtUs(base)})`);
    for (const [name] of stores) {
      const value = median(medians.get(`runOnce ${name}`)!);
      console.log(
        `runOnce ${name.padEnd(10)} ${fmtUs(value).padEnd(12)} +${fmtUs(value - base).padEnd(12)} ${(value / base).toFixed(2)}x bare`,
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
