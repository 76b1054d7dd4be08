/**
 * instrumentCheckpointer on LangGraph's PostgreSQL saver: each operation's latency and the checkpoint size reach the
 * metrics, from a real graph run against a real server.
 */
import { randomUUID } from "node:crypto";
import { Annotation, StateGraph } from "@langchain/langgraph";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics, instrumentCheckpointer } from "../src/index.js";
import { type PostgresServer, startPostgres } from "./support/postgres.js";

let postgres: PostgresServer;

beforeAll(async () => {
  postgres = await startPostgres();
});

afterAll(async () => {
  await postgres?.stop();
});

const State = Annotation.Root({ log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }) });

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

async function samples(metrics: ReturnType<typeof createMetrics>, name: string): Promise<Sample[]> {
  const all = (await metrics.registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Sample[] }>;
  return all.find((m) => m.name === name)?.values ?? [];
}

describe("instrumentCheckpointer(PostgresSaver)", () => {
  it("records latency per operation and checkpoint sizes for a graph run, and failed operations as errors", async () => {
    const saver = PostgresSaver.fromConnString(postgres.url);
    // The server is stopped after the pool ended; a client still closing then gets the server's shutdown notice, which
    // the pool re-emits as an "error" event and, with no listener, as an uncaught exception.
    (saver as unknown as { pool: { on(event: "error", listener: () => void): void } }).pool.on("error", () => undefined);
    await saver.setup();
    const metrics = createMetrics();
    const checkpointer = instrumentCheckpointer(saver, { metrics });
    expect(checkpointer).toBeInstanceOf(PostgresSaver);
    const graph = new StateGraph(State)
      .addNode("a", async () => ({ log: ["a".repeat(10_000)] }))
      .addNode("b", async () => ({ log: ["b"] }))
      .addEdge("__start__", "a")
      .addEdge("a", "b")
      .compile({ checkpointer });
    const config = { configurable: { thread_id: randomUUID() } };
    await graph.invoke({ log: [] }, config);
    const history = [];
    for await (const snapshot of graph.getStateHistory(config)) history.push(snapshot);
    expect(history.length).toBeGreaterThanOrEqual(3);

    const durations = await samples(metrics, "langgraph_checkpoint_operation_duration_seconds");
    const count = (operation: string, status: string) =>
      durations.find(
        (s) =>
          s.metricName?.endsWith("_count") &&
          s.labels.operation === operation &&
          s.labels.status === status &&
          s.labels.saver === "PostgresSaver",
      )?.value ?? 0;
    for (const operation of ["get", "put", "put_writes", "list"]) expect(count(operation, "success"), operation).toBeGreaterThan(0);
    // One put per superstep: input, a, b.
    expect(count("put", "success")).toBeGreaterThanOrEqual(3);

    const sizes = await samples(metrics, "langgraph_checkpoint_size_bytes");
    const sizeCount = sizes.find((s) => s.metricName?.endsWith("_count"))?.value ?? 0;
    const sizeSum = sizes.find((s) => s.metricName?.endsWith("_sum"))?.value ?? 0;
    expect(sizeCount).toBe(count("put", "success"));
    // The 10 kB channel value is in the checkpoints saved after node a.
    expect(sizeSum).toBeGreaterThan(10_000);

    await saver.end();
    await expect(graph.invoke({ log: [] }, { configurable: { thread_id: randomUUID() } })).rejects.toThrow();
    const after = await samples(metrics, "langgraph_checkpoint_operation_duration_seconds");
    const errors = after.filter((s) => s.metricName?.endsWith("_count") && s.labels.status === "error").reduce((n, s) => n + s.value, 0);
    expect(errors).toBeGreaterThan(0);
  });

  it("counts the pool errors a server restart emits as checkpoint errors instead of crashing, and runs go on", {
    timeout: 60_000,
  }, async () => {
    const saver = PostgresSaver.fromConnString(postgres.url);
    await saver.setup();
    const pool = (saver as unknown as { pool: { listenerCount(event: string): number; totalCount: number } }).pool;
    const before = pool.listenerCount("error");
    const metrics = createMetrics();
    // No listener of our own on the pool: instrumentCheckpointer attaches it (once, however often it wraps the saver).
    const checkpointer = instrumentCheckpointer(saver, { metrics });
    instrumentCheckpointer(saver, { metrics });
    expect(pool.listenerCount("error")).toBe(before + 1);
    const graph = new StateGraph(State)
      .addNode("a", async () => ({ log: ["a"] }))
      .addEdge("__start__", "a")
      .compile({ checkpointer });
    // Parallel threads leave several idle clients in the pool: each is dropped by the restart.
    await Promise.all(Array.from({ length: 4 }, () => graph.invoke({ log: [] }, { configurable: { thread_id: randomUUID() } })));
    expect(pool.totalCount).toBeGreaterThan(0);

    await postgres.restart();
    const poolErrors = async () =>
      (await samples(metrics, "langgraph_checkpoint_operation_duration_seconds"))
        .filter((s) => s.metricName?.endsWith("_count") && s.labels.operation === "pool" && s.labels.status === "error")
        .reduce((n, s) => n + s.value, 0);
    const deadline = Date.now() + 20_000;
    while ((await poolErrors()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await poolErrors()).toBeGreaterThan(0);
    expect(await metrics.text()).toMatch(
      /langgraph_checkpoint_operation_duration_seconds_count\{saver="PostgresSaver",operation="pool",status="error"\} [1-9]/,
    );

    // The pool replaced its broken clients: the next run checkpoints normally.
    const out = await graph.invoke({ log: [] }, { configurable: { thread_id: randomUUID() } });
    expect(out.log).toEqual(["a"]);
    await saver.end();
  });
});
