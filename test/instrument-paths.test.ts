/**
 * The two run sources of `instrument()` tell the same story. Every graph shape the instrumented suites run (a chain,
 * an agent with a tool node and a subgraph that interrupts, Send fan-out into a subgraph, Command routing, LangGraph
 * RetryPolicy, a kit retry, errors, an abort, static breakpoints, chains and a graph invoked inside a node, the
 * prebuilt ReAct agent, stream modes and streamEvents) is run once with the graph's nodes reporting their own runs
 * and once through the callback handler bound at the graph. The Prometheus exposition (every series and value,
 * durations aside) and the span trees (names and parentage) must be identical.
 */
import { HumanMessage } from "@langchain/core/messages";
import { RunnableLambda, RunnableSequence } from "@langchain/core/runnables";
import { Annotation, Command, END, MemorySaver, Send, START, StateGraph } from "@langchain/langgraph";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAgentGraph, ScriptedChatModel, searchTool } from "../bench/tracing-fixtures.js";
import { twoNodeCounter } from "./support/graph.js";
import { comparableExposition, spanTrees } from "./support/run-compare.js";
import { instrument, instrumentWithCallbacks } from "../src/observability/instrument.js";
import { createLogger } from "../src/observability/logging.js";
import { createMetrics, type Metrics } from "../src/observability/metrics.js";
import { openRunCount } from "../src/observability/tracing/registry.js";
import { withRetry } from "../src/resilience/retry.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
beforeAll(() => provider.register());
afterAll(() => provider.shutdown());

type Instrument = typeof instrument;
/** Runs the scenario's graphs, instrumented with `wrap`, on `metrics`. */
type Scenario = (wrap: Instrument, metrics: Metrics) => Promise<void>;

async function runBoth(scenario: Scenario): Promise<{ nodes: [string[], string[]]; callbacks: [string[], string[]] }> {
  const out: Record<string, [string[], string[]]> = {};
  for (const [label, wrap] of [
    ["nodes", instrument],
    ["callbacks", instrumentWithCallbacks],
  ] as const) {
    exporter.reset();
    const metrics = createMetrics();
    await scenario(wrap as Instrument, metrics);
    await new Promise((r) => setTimeout(r, 20));
    await provider.forceFlush();
    out[label] = [comparableExposition(await metrics.text()), spanTrees(exporter.getFinishedSpans())];
    expect(openRunCount()).toBe(0);
  }
  return out as { nodes: [string[], string[]]; callbacks: [string[], string[]] };
}

const logger = createLogger({ level: "debug", destination: { write: () => undefined } });
const kit = (metrics: Metrics, name: string) => ({ metrics, tracing: true, logger, name });

const Chain = Annotation.Root({ n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }) });
type ChainState = typeof Chain.State;

const scenarios: Record<string, Scenario> = {
  "a 10-node chain: invoke, stream values, updates and debug, batch, streamEvents": async (wrap, metrics) => {
    const builder = new StateGraph(Chain) as unknown as {
      addNode(name: string, fn: (s: ChainState) => Partial<ChainState>): unknown;
      addEdge(from: string, to: string): unknown;
      compile(): { invoke: (i: unknown) => Promise<unknown> };
    };
    for (let i = 0; i < 10; i++) builder.addNode(`n${i}`, (s) => ({ n: s.n + 1 }));
    builder.addEdge(START, "n0");
    for (let i = 1; i < 10; i++) builder.addEdge(`n${i - 1}`, `n${i}`);
    builder.addEdge("n9", END);
    const graph = wrap(builder.compile() as never, kit(metrics, "chain")) as unknown as {
      invoke(i: unknown): Promise<unknown>;
      stream(i: unknown, o?: unknown): Promise<AsyncIterable<unknown>>;
      batch(i: unknown[]): Promise<unknown>;
      streamEvents(i: unknown, o: unknown): AsyncIterable<unknown>;
    };
    await graph.invoke({ n: 0 });
    for (const streamMode of ["values", "updates", "debug"]) for await (const _ of await graph.stream({ n: 0 }, { streamMode }));
    await graph.batch([{ n: 0 }, { n: 1 }]);
    for await (const _ of graph.streamEvents({ n: 0 }, { version: "v2" }));
  },

  "the agent graph: LLM and tool calls, a subgraph that interrupts, resume, an error, streamMode messages": async (wrap, metrics) => {
    const graph = wrap(buildAgentGraph(new ScriptedChatModel()).compile({ checkpointer: new MemorySaver() }), kit(metrics, "agent"));
    const input = (mode: string) => ({ messages: [new HumanMessage("weather?")], mode });
    await graph.invoke(input("ok"), { configurable: { thread_id: "ok" } });
    await graph.invoke(input("interrupt"), { configurable: { thread_id: "int" } });
    await graph.invoke(new Command({ resume: true }), { configurable: { thread_id: "int" } });
    await graph.invoke(input("error"), { configurable: { thread_id: "err" } }).catch(() => undefined);
    for await (const _ of await graph.stream(input("ok"), { configurable: { thread_id: "msg" }, streamMode: "messages", subgraphs: true }));
    await graph.getState({ configurable: { thread_id: "int" } }, { subgraphs: true });
  },

  "Send fan-out into a subgraph, Command routing, RetryPolicy re-runs, a kit retry": async (wrap, metrics) => {
    const sub = new StateGraph(Chain)
      .addNode("inner", (s: ChainState) => ({ n: s.n + 1 }))
      .addEdge(START, "inner")
      .compile();
    let flaky = 0;
    let wrapped = 0;
    const graph = new StateGraph(Chain)
      .addNode("route", () => new Command({ goto: "fan", update: { n: 1 } }), { ends: ["fan"] })
      .addNode("fan", (s: ChainState) => s)
      .addNode("sub", sub)
      .addNode(
        "flaky",
        () => {
          flaky++;
          if (flaky % 2 === 1) throw Object.assign(new Error("try again"), { status: 503 });
          return {};
        },
        { retryPolicy: { maxAttempts: 3, initialInterval: 1, jitter: false, logWarning: false } },
      )
      .addNode(
        "wrapped",
        withRetry(
          () => {
            wrapped++;
            if (wrapped % 2 === 1) throw Object.assign(new Error("again"), { status: 503 });
            return {};
          },
          { retries: 2, minDelayMs: 1, maxDelayMs: 1, jitter: "none" },
        ),
      )
      .addEdge(START, "route")
      .addConditionalEdges("fan", (s: ChainState) => [1, 2, 3].map((i) => new Send("sub", { n: s.n + i })))
      .addEdge("sub", "flaky")
      .addEdge("flaky", "wrapped")
      .addEdge("wrapped", END)
      .compile();
    const app = wrap(graph, kit(metrics, "fan"));
    await app.invoke({ n: 0 });
    await app.invoke({ n: 0 });
  },

  "static breakpoints and an abort mid-node": async (wrap, metrics) => {
    let started: () => void = () => undefined;
    const graph = new StateGraph(Chain)
      .addNode("first", (s: ChainState) => ({ n: s.n + 1 }))
      .addNode(
        "slow",
        (_s: ChainState, config) =>
          new Promise<Partial<ChainState>>((_resolve, reject) => {
            started();
            if (config.signal?.aborted) reject(new Error("Aborted"));
            config.signal?.addEventListener("abort", () => reject(new Error("Aborted")), { once: true });
          }),
      )
      .addEdge(START, "first")
      .addEdge("first", "slow")
      .addEdge("slow", END)
      .compile({ checkpointer: new MemorySaver(), interruptBefore: ["slow"] });
    const app = wrap(graph, kit(metrics, "pause"));
    await app.invoke({ n: 0 }, { configurable: { thread_id: "p" } });
    const controller = new AbortController();
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const resumed = app.invoke(null, { configurable: { thread_id: "p" }, signal: controller.signal }).catch(() => undefined);
    await running;
    controller.abort();
    await resumed;
  },

  "chains and a graph invoked inside a node, with the node's config and implicitly": async (wrap, metrics) => {
    const model = new ScriptedChatModel();
    const chain = RunnableSequence.from([RunnableLambda.from((q: string) => [new HumanMessage(q)]), model]);
    const inner = twoNodeCounter();
    const graph = new StateGraph(Chain)
      .addNode("work", async (s: ChainState, config) => {
        await chain.invoke("weather?", config);
        await RunnableLambda.from(() => chain.invoke("again?")).invoke({});
        const out = await inner.invoke({ n: s.n });
        return { n: out.n };
      })
      .addEdge(START, "work")
      .addEdge("work", END)
      .compile();
    await wrap(graph, kit(metrics, "calls")).invoke({ n: 0 });
  },

  "the prebuilt ReAct agent": async (wrap, metrics) => {
    const agent = wrap(createReactAgent({ llm: new ScriptedChatModel(), tools: [searchTool] }), kit(metrics, "react"));
    await agent.invoke({ messages: [new HumanMessage("weather?")] });
  },
};

describe("graph-reported and callback-reported runs are the same runs", () => {
  for (const [name, scenario] of Object.entries(scenarios)) {
    it(name, async () => {
      const { nodes, callbacks } = await runBoth(scenario);
      // Something was measured: runs counted and spans exported.
      expect(nodes[0].some((l) => l.startsWith("langgraph_graph_runs_total") && !l.endsWith(" 0"))).toBe(true);
      expect(nodes[1].length).toBeGreaterThan(0);
      expect(nodes[0]).toEqual(callbacks[0]);
      expect(nodes[1]).toEqual(callbacks[1]);
    }, 30_000);
  }
});
