import { Annotation, Command, interrupt, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { instrumentCheckpointer } from "../src/observability/checkpointer.js";
import { instrument } from "../src/observability/instrument.js";
import { createMetrics } from "../src/observability/metrics.js";
import { sum } from "./metrics-fixtures.js";

const State = Annotation.Root({
  text: Annotation<string>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/** START → a → ask (interrupts) → b. */
function build(checkpointer: MemorySaver) {
  return new StateGraph(State)
    .addNode("a", async () => ({ log: ["a"] }))
    .addNode("ask", async () => ({ log: [interrupt("ok?") as string] }))
    .addNode("b", async () => ({ log: ["b"] }))
    .addEdge(START, "a")
    .addEdge("a", "ask")
    .addEdge("ask", "b")
    .compile({ checkpointer });
}

/** Counts the calls a saver receives, to compare with what the metrics say. */
class CountingSaver extends MemorySaver {
  counts = { get: 0, put: 0, put_writes: 0, list: 0 };
  override async getTuple(...args: Parameters<MemorySaver["getTuple"]>) {
    this.counts.get += 1;
    return super.getTuple(...args);
  }
  override async put(...args: Parameters<MemorySaver["put"]>) {
    this.counts.put += 1;
    return super.put(...args);
  }
  override async putWrites(...args: Parameters<MemorySaver["putWrites"]>) {
    this.counts.put_writes += 1;
    return super.putWrites(...args);
  }
  override async *list(...args: Parameters<MemorySaver["list"]>) {
    this.counts.list += 1;
    yield* super.list(...args);
  }
}

describe("instrumentCheckpointer", () => {
  it("counts every operation with its latency and status, and the serialized size of each put", async () => {
    const metrics = createMetrics();
    const saver = new CountingSaver();
    const checkpointer = instrumentCheckpointer(saver, { metrics });
    expect(checkpointer).toBeInstanceOf(MemorySaver);
    const graph = instrument(build(checkpointer), { metrics, name: "ckpt" });
    const config = { configurable: { thread_id: "c1" } };
    await graph.invoke({ text: "x".repeat(5000) }, config);
    await graph.invoke(new Command({ resume: "yes" }), config);
    const history = [];
    for await (const snapshot of graph.getStateHistory(config)) history.push(snapshot);
    expect(history.length).toBeGreaterThan(3);
    const counts = saver.counts;
    expect(counts.put).toBeGreaterThan(0);
    expect(counts.put_writes).toBeGreaterThan(0);
    expect(counts.list).toBeGreaterThan(0);
    for (const [operation, n] of Object.entries(counts)) {
      expect(
        await sum(metrics, "langgraph_checkpoint_operation_duration_seconds_count", {
          saver: "CountingSaver",
          operation,
          status: "success",
        }),
      ).toBe(n);
    }
    expect(await sum(metrics, "langgraph_checkpoint_size_bytes_count", { saver: "CountingSaver" })).toBe(counts.put);
    // The 5,000-character input lives in every checkpoint after the first step.
    expect(await sum(metrics, "langgraph_checkpoint_size_bytes_sum", { saver: "CountingSaver" })).toBeGreaterThan(5000 * (counts.put - 1));
  });

  it("behaves exactly like the saver it wraps", async () => {
    const metrics = createMetrics();
    const plain = build(new MemorySaver());
    const wrapped = build(instrumentCheckpointer(new MemorySaver(), { metrics, name: "memory" }));
    const config = { configurable: { thread_id: "same" } };
    const outputs = [];
    for (const graph of [plain, wrapped]) {
      const first = await graph.invoke({ text: "t" }, config);
      const second = await graph.invoke(new Command({ resume: "go" }), config);
      const state = await graph.getState(config);
      outputs.push({ first, second, values: state.values, next: state.next });
    }
    // Interrupt ids derive from time-based checkpoint ids, so they differ between any two runs.
    const withoutIds = (v: unknown) => JSON.parse(JSON.stringify(v, (k, x) => (k === "id" ? undefined : x)));
    expect(withoutIds(outputs[1])).toEqual(withoutIds(outputs[0]));
    expect(outputs[0]?.second.log).toEqual(["a", "go", "b"]);
    expect(
      await sum(metrics, "langgraph_checkpoint_operation_duration_seconds_count", { saver: "memory", operation: "get" }),
    ).toBeGreaterThan(0);
  });

  it("errors pass through unchanged and are counted as status=error", async () => {
    const metrics = createMetrics();
    class Broken extends MemorySaver {
      override async put(): Promise<never> {
        throw new Error("disk full");
      }
    }
    const graph = build(instrumentCheckpointer(new Broken(), { metrics }));
    await expect(graph.invoke({ text: "t" }, { configurable: { thread_id: "b" } })).rejects.toThrow("disk full");
    expect(
      await sum(metrics, "langgraph_checkpoint_operation_duration_seconds_count", { saver: "Broken", operation: "put", status: "error" }),
    ).toBeGreaterThan(0);
    expect(await sum(metrics, "langgraph_checkpoint_size_bytes_count", { saver: "Broken" })).toBe(0);
  });

  it("with tracing: true, each operation is a span named after it, failed ones with error status", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    try {
      const saver = new CountingSaver();
      const graph = build(instrumentCheckpointer(saver, { tracing: true }));
      await graph.invoke({ text: "t" }, { configurable: { thread_id: "traced" } });
      const names = exporter.getFinishedSpans().map((s) => s.name);
      expect(names.filter((n) => n === "checkpoint put")).toHaveLength(saver.counts.put);
      expect(names.filter((n) => n === "checkpoint put_writes")).toHaveLength(saver.counts.put_writes);
      expect(names.filter((n) => n === "checkpoint get")).toHaveLength(saver.counts.get);
      const put = exporter.getFinishedSpans().find((s) => s.name === "checkpoint put");
      expect(put?.attributes["langgraph.checkpoint.saver"]).toBe("CountingSaver");
    } finally {
      await provider.shutdown();
      trace.disable();
    }
  });

  it("rejects bad arguments with a TypeError naming the option", () => {
    expect(() => instrumentCheckpointer({} as never)).toThrow(/checkpointer/);
    expect(() => instrumentCheckpointer(new MemorySaver(), { metrics: {} as never })).toThrow(/metrics/);
    expect(() => instrumentCheckpointer(new MemorySaver(), { tracing: "yes" as never })).toThrow(/tracing/);
    expect(() => instrumentCheckpointer(new MemorySaver(), { other: 1 } as never)).toThrow(/other/);
  });
});

describe("savers with private fields", () => {
  it("keeps #private fields working behind the proxy", async () => {
    const { MemorySaver } = await import("@langchain/langgraph");
    const { createMetrics, instrumentCheckpointer } = await import("../src/index.js");
    class CountingSaver extends MemorySaver {
      #puts = 0;
      override async put(...args: Parameters<MemorySaver["put"]>) {
        this.#puts += 1;
        return super.put(...args);
      }
      get puts(): number {
        return this.#puts;
      }
    }
    const saver = new CountingSaver();
    const wrapped = instrumentCheckpointer(saver, { metrics: createMetrics() });
    const { Annotation, StateGraph } = await import("@langchain/langgraph");
    const S = Annotation.Root({ v: Annotation<number>() });
    const graph = new StateGraph(S)
      .addNode("n", async () => ({ v: 1 }))
      .addEdge("__start__", "n")
      .compile({ checkpointer: wrapped });
    await graph.invoke({ v: 0 }, { configurable: { thread_id: "private-fields" } });
    expect(saver.puts).toBeGreaterThan(0);
  });
});
