import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { Annotation, Command, END, interrupt, MemorySaver, START, Send, StateGraph } from "@langchain/langgraph";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { withRetry } from "../src/resilience/retry.js";
import type { Clock } from "../src/resilience/types.js";
import { createLoggingHandler, createLogger } from "../src/observability/logging.js";
import { labelsOf } from "../src/core/events.js";
import { instrument, instrumentHandlerOf, instrumentWithCallbacks } from "../src/observability/instrument.js";
import { InstrumentCallbackHandler } from "../src/observability/instrument-handler.js";
import { MetricsCallbackHandler } from "../src/observability/metrics-handler.js";
import { createMetrics, type Metrics } from "../src/observability/metrics.js";
import { sum } from "./metrics-fixtures.js";
import { STREAM_CANCEL_STOPS_RUN } from "./support/langgraph-version.js";

const State = Annotation.Root({
  fail: Annotation<boolean>(),
  flaky: Annotation<number>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
type S = typeof State.State;

const instantClock: Clock = { now: () => 0, sleep: async () => undefined };

/** START → a → b → c → END; b throws when `fail`, and throws `flaky` times per run before succeeding under withRetry. */
function threeNodeGraph() {
  const attempts = new Map<string, number>();
  const b = withRetry(
    async (s: S, config: LangGraphRunnableConfig) => {
      const id = String(config.configurable?.thread_id);
      const n = attempts.get(id) ?? 0;
      attempts.set(id, n + 1);
      if (n < s.flaky) throw Object.assign(new Error("upstream 503"), { status: 503 });
      if (s.fail) throw new Error("bad input");
      return { log: ["b"] };
    },
    { retries: 5, clock: instantClock, retryOn: (e) => (e as { status?: number }).status === 503 },
  );
  return new StateGraph(State)
    .addNode("a", async () => ({ log: ["a"] }))
    .addNode("b", b)
    .addNode("c", async () => ({ log: ["c"] }))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile({ checkpointer: new MemorySaver() });
}

let threads = 0;
const thread = () => ({ configurable: { thread_id: `t${++threads}` } });

type Entry = (graph: ReturnType<typeof threeNodeGraph>, input: Partial<S>) => Promise<void>;
const drain = async (iterable: AsyncIterable<unknown>) => {
  for await (const _ of iterable) {
    // consume
  }
};
const ENTRIES: Record<string, Entry> = {
  invoke: async (g, input) => {
    await g.invoke(input, thread());
  },
  "stream values": async (g, input) => drain(await g.stream(input, { ...thread(), streamMode: "values" })),
  "stream updates": async (g, input) => drain(await g.stream(input, { ...thread(), streamMode: "updates" })),
  "stream debug+messages+custom": async (g, input) =>
    drain(await g.stream(input, { ...thread(), streamMode: ["debug", "messages", "custom"] })),
  "streamEvents v2": async (g, input) => drain(g.streamEvents(input, { ...thread(), version: "v2" })),
  batch: async (g, input) => {
    const results = await g.batch([input, input], [thread(), thread()], { returnExceptions: true });
    const failed = results.filter((r) => r instanceof Error);
    if (failed.length > 0) throw failed[0];
  },
};

describe("instrument(graph, { metrics }) counts what really happened", () => {
  for (const [entry, run] of Object.entries(ENTRIES)) {
    it(`${entry}: runs, node executions, durations and withRetry retries match ground truth`, async () => {
      const metrics = createMetrics();
      const graph = instrument(threeNodeGraph(), { metrics, name: "three" });
      const perCall = entry === "batch" ? 2 : 1;
      const N = 7;
      const failing = new Set([1, 4]); // K = 2 failing calls
      const flaky = [0, 2, 0, 1, 0, 0, 3]; // withRetry retries per call
      let ok = 0;
      let errors = 0;
      for (let i = 0; i < N; i++) {
        try {
          await run(graph, { fail: failing.has(i), flaky: flaky[i] as number });
          ok += perCall;
        } catch {
          errors += perCall;
        }
      }
      const K = failing.size * perCall;
      const R = flaky.reduce((a, b) => a + b, 0) * perCall;
      expect(errors).toBe(K);
      expect(ok).toBe(N * perCall - K);
      const g = { graph: "three" };
      expect(await sum(metrics, "langgraph_graph_runs_total", { ...g, status: "success" })).toBe(ok);
      expect(await sum(metrics, "langgraph_graph_runs_total", { ...g, status: "error" })).toBe(K);
      expect(await sum(metrics, "langgraph_graph_run_duration_seconds_count", g)).toBe(N * perCall);
      expect(await sum(metrics, "langgraph_graph_runs_in_flight", g)).toBe(0);
      expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "a", status: "success" })).toBe(N * perCall);
      expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "b", status: "success" })).toBe(ok);
      expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "b", status: "error" })).toBe(K);
      expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "c", status: "success" })).toBe(ok);
      expect(await sum(metrics, "langgraph_node_executions_total", g)).toBe(N * perCall * 2 + ok);
      expect(await sum(metrics, "langgraph_node_duration_seconds_count", g)).toBe(N * perCall * 2 + ok);
      // No series for LangGraph internals.
      expect(await sum(metrics, "langgraph_node_executions_total", { node: "__start__" })).toBe(0);
      expect(await sum(metrics, "langgraph_node_retries_total", { ...g, node: "b", reason: "server_error" })).toBe(R);
      expect(await sum(metrics, "langgraph_node_retries_total", g)).toBe(R);
    });
  }

  it("LangGraph RetryPolicy: each attempt is one execution and each re-run one retry_policy retry", async () => {
    const metrics = createMetrics();
    const failuresLeft = new Map<string, number>();
    const graph = instrument(
      new StateGraph(State)
        .addNode(
          "work",
          async (s: S, config: LangGraphRunnableConfig) => {
            const id = String(config.configurable?.thread_id);
            const left = failuresLeft.get(id) ?? s.flaky;
            failuresLeft.set(id, left - 1);
            if (left > 0) throw new Error("transient");
            return { log: ["ok"] };
          },
          { retryPolicy: { maxAttempts: 3, initialInterval: 1, jitter: false, logWarning: false } },
        )
        .addEdge(START, "work")
        .compile({ checkpointer: new MemorySaver() }),
      { metrics, name: "policy" },
    );
    const flaky = [0, 1, 2, 3, 1];
    let failedRuns = 0;
    for (const f of flaky) {
      try {
        await graph.invoke({ flaky: f }, thread());
      } catch {
        failedRuns += 1;
      }
    }
    // 3 failures exhaust maxAttempts 3: that run fails after 3 attempts (2 re-runs).
    expect(failedRuns).toBe(1);
    const reruns = flaky.map((f) => Math.min(f, 2)).reduce((a, b) => a + b, 0);
    const errorAttempts = flaky.map((f) => Math.min(f, 3)).reduce((a, b) => a + b, 0);
    expect(await sum(metrics, "langgraph_node_retries_total", { graph: "policy", node: "work", reason: "retry_policy" })).toBe(reruns);
    expect(await sum(metrics, "langgraph_node_executions_total", { graph: "policy", node: "work", status: "error" })).toBe(errorAttempts);
    expect(await sum(metrics, "langgraph_node_executions_total", { graph: "policy", node: "work", status: "success" })).toBe(4);
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "policy", status: "error" })).toBe(1);
  });

  it("interrupts: interrupted run and node, interrupts_total, then success on resume; getState/updateState work", async () => {
    const metrics = createMetrics();
    const graph = instrument(
      new StateGraph(State)
        .addNode("ask", async () => {
          const answer = interrupt("approve?") as string;
          return { log: [answer] };
        })
        .addNode("after", async () => ({ log: ["after"] }))
        .addEdge(START, "ask")
        .addEdge("ask", "after")
        .compile({ checkpointer: new MemorySaver() }),
      { metrics, name: "hitl" },
    );
    const config = thread();
    const first = await graph.invoke({}, config);
    expect((first as { __interrupt__?: unknown[] }).__interrupt__).toHaveLength(1);
    const g = { graph: "hitl" };
    expect(await sum(metrics, "langgraph_graph_runs_total", { ...g, status: "interrupted" })).toBe(1);
    expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "ask", status: "interrupted" })).toBe(1);
    expect(await sum(metrics, "langgraph_interrupts_total", { ...g, node: "ask" })).toBe(1);
    const state = await graph.getState(config);
    expect(state.next).toEqual(["ask"]);
    await graph.updateState(config, { log: ["edited"] });
    expect((await graph.getState(config)).values.log).toEqual(["edited"]);
    const resumed = await graph.invoke(new Command({ resume: "yes" }), config);
    expect(resumed.log).toEqual(["edited", "yes", "after"]);
    expect(await sum(metrics, "langgraph_graph_runs_total", { ...g, status: "success" })).toBe(1);
    expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "ask", status: "success" })).toBe(1);
    expect(await sum(metrics, "langgraph_graph_runs_in_flight", g)).toBe(0);
  });

  it("static interruptBefore pauses count as interrupted runs", async () => {
    const metrics = createMetrics();
    const graph = instrument(
      new StateGraph(State)
        .addNode("a", async () => ({ log: ["a"] }))
        .addNode("b", async () => ({ log: ["b"] }))
        .addEdge(START, "a")
        .addEdge("a", "b")
        .compile({ checkpointer: new MemorySaver(), interruptBefore: ["b"] }),
      { metrics, name: "static" },
    );
    const config = thread();
    await graph.invoke({}, config);
    await graph.invoke(null, config);
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "static", status: "interrupted" })).toBe(1);
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "static", status: "success" })).toBe(1);
  });
});

/** Before LangGraph 1.7.3 a stream its caller stops reading runs on, so its slow node must end soon. */
const SLOW_NODE_MS = STREAM_CANCEL_STOPS_RUN ? 10_000 : 200;

/**
 * What a caller that stopped reading the "slow" graph's stream sees: a cancelled run whose node was aborted (LangGraph
 * 1.7.3 on), or, before, a run that went on to succeed without aborting its node. In-flight is back to 0 either way.
 */
async function expectStoppedStream(metrics: Metrics, aborted: () => number): Promise<void> {
  const runs = (status: string) => sum(metrics, "langgraph_graph_runs_total", { graph: "slow", status });
  if (STREAM_CANCEL_STOPS_RUN) {
    await waitUntil(async () => aborted() === 1);
    expect(await runs("cancelled")).toBe(1);
  } else {
    await waitUntil(async () => (await runs("success")) === 1);
    expect(aborted()).toBe(0);
    expect(await runs("cancelled")).toBe(0);
  }
  expect(await sum(metrics, "langgraph_graph_runs_in_flight", { graph: "slow" })).toBe(0);
  expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "slow" })).toBe(1);
}

function slowGraph(onAbort: () => void, onStart: () => void = () => undefined) {
  return new StateGraph(State)
    .addNode("fast", async () => ({ log: ["fast"] }))
    .addNode("slow", async (_s: S, config: LangGraphRunnableConfig) => {
      onStart();
      await new Promise<void>((resolve, reject) => {
        if (config.signal?.aborted) {
          onAbort();
          reject(new Error("node aborted"));
          return;
        }
        const timer = setTimeout(resolve, SLOW_NODE_MS);
        config.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          onAbort();
          reject(new Error("node aborted"));
        });
      });
      return { log: ["slow"] };
    })
    .addEdge(START, "fast")
    .addEdge("fast", "slow")
    .compile({ checkpointer: new MemorySaver() });
}

describe("cancellation", () => {
  it("an AbortSignal abort ends the run as cancelled and the node stops", async () => {
    const metrics = createMetrics();
    let aborted = 0;
    const graph = instrument(
      slowGraph(() => aborted++),
      { metrics, name: "slow" },
    );
    const controller = new AbortController();
    const running = graph.invoke({}, { ...thread(), signal: controller.signal });
    await waitUntil(async () => (await sum(metrics, "langgraph_node_executions_total", { node: "fast" })) === 1);
    expect(await sum(metrics, "langgraph_graph_runs_in_flight", { graph: "slow" })).toBe(1);
    controller.abort();
    await expect(running).rejects.toThrow();
    expect(aborted).toBe(1);
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "slow", status: "cancelled" })).toBe(1);
    expect(await sum(metrics, "langgraph_graph_runs_in_flight", { graph: "slow" })).toBe(0);
  });

  it("breaking out of for await ends the run as cancelled, in-flight back to 0, node aborted", async () => {
    const metrics = createMetrics();
    let aborted = 0;
    let started!: () => void;
    const slowStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const graph = instrument(
      slowGraph(() => aborted++, started),
      { metrics, name: "slow" },
    );
    for await (const chunk of await graph.stream({}, { ...thread(), streamMode: "updates" })) {
      expect(chunk).toHaveProperty("fast");
      await slowStarted;
      break;
    }
    await expectStoppedStream(metrics, () => aborted);
  });

  it("a stream cancelled through its reader (LangGraph sends no callback then) still ends as cancelled", async () => {
    const metrics = createMetrics();
    let aborted = 0;
    const graph = instrument(
      slowGraph(() => aborted++),
      { metrics, name: "slow" },
    );
    const stream = await graph.stream({}, { ...thread(), streamMode: "updates" });
    const reader = stream.getReader();
    await reader.read();
    await reader.cancel();
    if (STREAM_CANCEL_STOPS_RUN) {
      expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "slow", status: "cancelled" })).toBe(1);
      expect(await sum(metrics, "langgraph_graph_runs_in_flight", { graph: "slow" })).toBe(0);
      // The cancel reached the run: the slow node never completes.
      await new Promise((r) => setTimeout(r, 50));
      expect(await sum(metrics, "langgraph_node_executions_total", { graph: "slow", node: "slow", status: "success" })).toBe(0);
      expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "slow" })).toBe(1);
    } else {
      await expectStoppedStream(metrics, () => aborted);
    }
  });
});

describe("graph shapes", () => {
  it("subgraph: inner nodes under their own names, namespaces intact with subgraphs: true", async () => {
    const metrics = createMetrics();
    const sub = new StateGraph(State)
      .addNode("inner1", async () => ({ log: ["i1"] }))
      .addNode("inner2", async () => ({ log: ["i2"] }))
      .addEdge(START, "inner1")
      .addEdge("inner1", "inner2")
      .compile();
    const graph = instrument(
      new StateGraph(State)
        .addNode("outer", async () => ({ log: ["o"] }))
        .addNode("sub", sub)
        .addEdge(START, "outer")
        .addEdge("outer", "sub")
        .compile(),
      { metrics, name: "parent" },
    );
    const namespaces: string[] = [];
    for await (const [ns] of (await graph.stream({}, { subgraphs: true, streamMode: "updates" })) as AsyncIterable<[string[], unknown]>) {
      namespaces.push(ns.join("|"));
    }
    expect(namespaces.some((ns) => ns.startsWith("sub:"))).toBe(true);
    const g = { graph: "parent", status: "success" };
    for (const node of ["outer", "sub", "inner1", "inner2"]) {
      expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node })).toBe(1);
    }
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "parent" })).toBe(1);
  });

  it("Send fan-out: one execution per Send", async () => {
    const metrics = createMetrics();
    const Fan = Annotation.Root({
      items: Annotation<number[]>(),
      done: Annotation<number[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
    });
    const graph = instrument(
      new StateGraph(Fan)
        .addNode("plan", async () => ({}))
        .addNode("worker", async (s: { items: number[] }) => ({ done: s.items }))
        .addEdge(START, "plan")
        .addConditionalEdges("plan", (s) => s.items.map((i) => new Send("worker", { items: [i] })), ["worker"])
        .compile(),
      { metrics, name: "fan" },
    );
    const sizes = [3, 5, 1];
    for (const n of sizes) await graph.invoke({ items: Array.from({ length: n }, (_, i) => i) });
    expect(await sum(metrics, "langgraph_node_executions_total", { graph: "fan", node: "worker", status: "success" })).toBe(9);
    expect(await sum(metrics, "langgraph_node_executions_total", { graph: "fan", node: "plan" })).toBe(3);
  });

  it("survives later withConfig calls and merges invoke-time callbacks", async () => {
    const metrics = createMetrics();
    const seen: string[] = [];
    class Spy extends BaseCallbackHandler {
      name = "spy";
      override handleChainStart(
        _c: unknown,
        _i: unknown,
        _r: string,
        _p?: string,
        _t?: string[],
        _m?: unknown,
        _rt?: string,
        runName?: string,
      ) {
        seen.push(String(runName));
      }
    }
    const instrumented = instrument(threeNodeGraph(), { metrics, name: "cfg" });
    const rebound = instrumented.withConfig({ tags: ["user-tag"], recursionLimit: 50 });
    expect(rebound.constructor.name).toBe("CompiledStateGraph");
    await rebound.invoke({ fail: false, flaky: 0 }, { ...thread(), callbacks: [new Spy()] });
    expect(seen).toContain("a");
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "cfg", status: "success" })).toBe(1);
    // A stream of the rebound graph is still tracked when cancelled.
    const stream = await rebound.stream({ fail: false, flaky: 0 }, thread());
    await stream.cancel();
    expect(await sum(metrics, "langgraph_graph_runs_in_flight", { graph: "cfg" })).toBe(0);
  });

  it("binds the graph name for wrapper events and keeps the in-flight series from instrument() on", async () => {
    const metrics = createMetrics();
    instrument(threeNodeGraph(), { metrics, name: "idle" });
    const text = await metrics.text();
    expect(text).toContain('langgraph_graph_runs_in_flight{graph="idle"} 0');
  });

  it("leaves no run state behind after successful, failed and cancelled runs", async () => {
    const metrics = createMetrics();
    const graph = instrument(threeNodeGraph(), { metrics, name: "leak" });
    const forwarder = instrumentHandlerOf(graph);
    const handler = forwarder?.parts.find((h) => h instanceof MetricsCallbackHandler) as MetricsCallbackHandler;
    for (let i = 0; i < 20; i++) await graph.invoke({ fail: i % 3 === 0, flaky: i % 2 }, thread()).catch(() => undefined);
    const stream = await graph.stream({ fail: false, flaky: 0 }, thread());
    await stream.cancel();
    await new Promise((r) => setTimeout(r, 20));
    expect(handler.pendingRuns).toBe(0);
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "leak" })).toBe(21);
  });

  it("attaches one handler that forwards to the metrics, tracing and logging handlers in that order", async () => {
    const metrics = createMetrics();
    const graph = instrument(threeNodeGraph(), { metrics, tracing: true, logger: createLogger({ level: "silent" }), name: "all" });
    // A StateGraph graph reports its own runs: nothing is bound at the graph, the handler lives inside node runs.
    expect(graph.config?.callbacks ?? []).toEqual([]);
    expect(instrumentWithCallbacks(threeNodeGraph(), { metrics: createMetrics(), name: "cb" }).config?.callbacks).toHaveLength(1);
    const handlers = [instrumentHandlerOf(graph) as InstrumentCallbackHandler];
    expect(handlers[0]).toBeInstanceOf(InstrumentCallbackHandler);
    expect(handlers[0]?.parts.map((h) => h.name)).toEqual([
      "langgraph-ops-metrics",
      expect.stringContaining("tracing"),
      createLoggingHandler(createLogger({ level: "silent" }), "x").name,
    ]);
    await graph.invoke({ fail: false, flaky: 0 }, thread());
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "all", status: "success" })).toBe(1);
    expect(labelsOf({ callbacks: handlers, metadata: { langgraph_node: "n" } })).toEqual({ graph: "all", node: "n" });
    // Without signals the handler still names the graph for the wrappers; it has no parts to forward to.
    const bare = instrument(threeNodeGraph(), { name: "named-only" });
    const only = instrumentHandlerOf(bare);
    expect(only?.parts).toEqual([]);
    expect(labelsOf({ callbacks: only === undefined ? [] : [only] }).graph).toBe("named-only");
    expect(() => new InstrumentCallbackHandler([], "")).toThrow(/graphName must be a non-empty string/);
  });

  it("keeps forwarding to the other handlers when one of them throws, and the run succeeds", async () => {
    const seen: string[] = [];
    class Broken extends BaseCallbackHandler {
      name = "broken";
      override handleChainStart(): void {
        throw new Error("observer bug");
      }
    }
    class Recorder extends BaseCallbackHandler {
      name = "recorder";
      override handleChainStart(_c: unknown, _i: unknown, runId: string): void {
        seen.push(`start ${runId}`);
      }
      override handleChainEnd(_o: unknown, runId: string): void {
        seen.push(`end ${runId}`);
      }
    }
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (message: unknown) => warnings.push(String(message));
    try {
      const graph = threeNodeGraph().withConfig({ callbacks: [new InstrumentCallbackHandler([new Broken(), new Recorder()])] });
      await expect(graph.invoke({ fail: false, flaky: 0 }, thread())).resolves.toBeDefined();
    } finally {
      console.warn = original;
    }
    const starts = seen.filter((e) => e.startsWith("start")).length;
    expect(starts).toBeGreaterThan(3);
    expect(seen.filter((e) => e.startsWith("end")).length).toBe(starts);
    expect(warnings).toHaveLength(starts);
    expect(warnings[0]).toContain("Error in handler broken, handleChainStart: Error: observer bug");
  });

  it("defaults the graph label to compile({ name }), else LangGraph", async () => {
    const metrics = createMetrics();
    const named = instrument(
      new StateGraph(State)
        .addNode("a", async () => ({}))
        .addEdge(START, "a")
        .compile({ name: "from-compile" }),
      { metrics },
    );
    const unnamed = instrument(
      new StateGraph(State)
        .addNode("a", async () => ({}))
        .addEdge(START, "a")
        .compile(),
      { metrics },
    );
    await named.invoke({});
    await unnamed.invoke({});
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "from-compile", status: "success" })).toBe(1);
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "LangGraph", status: "success" })).toBe(1);
  });

  it("rejects bad arguments with a TypeError naming the option", () => {
    const metrics = createMetrics();
    expect(() => instrument({} as never, { metrics })).toThrow(TypeError);
    expect(() => instrument(threeNodeGraph(), { metrics, name: "" })).toThrow(/name/);
    expect(() => instrument(threeNodeGraph(), { metrics: {} as Metrics })).toThrow(/metrics/);
    expect(() => instrument(threeNodeGraph(), { metrics, bogus: 1 } as never)).toThrow(/bogus/);
  });
});

async function waitUntil(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("condition not reached");
}
