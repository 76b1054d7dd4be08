import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { context, trace } from "@opentelemetry/api";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { tool } from "@langchain/core/tools";
import { Annotation, MemorySaver, START, Send, StateGraph } from "@langchain/langgraph";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { withBulkhead } from "../src/resilience/bulkhead.js";
import { createCircuitBreaker, withCircuitBreaker } from "../src/resilience/circuit-breaker.js";
import { withFallback } from "../src/resilience/fallback.js";
import { runOnce } from "../src/resilience/idempotency.js";
import { withRetry } from "../src/resilience/retry.js";
import { withTimeout } from "../src/resilience/timeout.js";
import type { Clock } from "../src/resilience/types.js";
import { instrument } from "../src/observability/instrument.js";
import { OTHER_LABEL } from "../src/observability/label-guard.js";
import { createMetrics } from "../src/observability/metrics.js";
import { tokenUsage } from "../src/observability/metrics-handler.js";
import { ScriptedChatModel, sum } from "./metrics-fixtures.js";

const State = Annotation.Root({
  fail: Annotation<boolean>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
type S = typeof State.State;
const instantClock: Clock = { now: () => 0, sleep: async () => undefined };
const http503 = () => Object.assign(new Error("unavailable"), { status: 503 });
let threads = 0;
const thread = () => ({ configurable: { thread_id: `m${++threads}` } });

/** One graph per wrapper, each node's fallback keeping the run alive so every run reaches the end. */
function wrapperGraph(breakerName: string) {
  const breaker = createCircuitBreaker({ name: breakerName, volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeout: 60_000 });
  const fallback = (): Partial<S> => ({ log: ["fallback"] });
  return {
    breaker,
    graph: new StateGraph(State)
      .addNode(
        "slow",
        withFallback(
          withTimeout(() => new Promise<Partial<S>>((resolve) => setTimeout(() => resolve({ log: ["late"] }), 200)), 10),
          fallback,
        ),
      )
      .addNode(
        "exhaust",
        withFallback(
          withRetry(
            async () => {
              throw http503();
            },
            { retries: 2, clock: instantClock },
          ),
          fallback,
        ),
      )
      .addNode(
        "gate",
        withFallback(
          withCircuitBreaker(async (s: S) => {
            if (s.fail) throw http503();
            return { log: ["gate"] };
          }, breaker),
          fallback,
        ),
      )
      .addNode(
        "charge",
        async (_s: S, config: LangGraphRunnableConfig) => {
          await runOnce(config, "charge", () => "charged");
          // The first attempt fails after the side effect; LangGraph's RetryPolicy re-runs the node and runOnce hits.
          if (config.executionInfo?.nodeAttempt === 1) throw new Error("after charge");
          return { log: ["charged"] };
        },
        { retryPolicy: { maxAttempts: 2, initialInterval: 1, jitter: false, logWarning: false } },
      )
      .addEdge(START, "slow")
      .addEdge("slow", "exhaust")
      .addEdge("exhaust", "gate")
      .addEdge("gate", "charge")
      .compile({ checkpointer: new MemorySaver() }),
  };
}

describe("wrapper events land in the registry without wiring", () => {
  it("timeouts, fallbacks, retries, exhaustion, breaker and idempotency match ground truth", async () => {
    const metrics = createMetrics();
    const { graph: raw, breaker } = wrapperGraph("dep-a");
    const graph = instrument(raw, { metrics, name: "wrapped" });
    const N = 5;
    for (let i = 0; i < N; i++) await graph.invoke({ fail: true }, thread());
    const g = { graph: "wrapped" };
    expect(await sum(metrics, "langgraph_node_timeouts_total", { ...g, node: "slow" })).toBe(N);
    expect(await sum(metrics, "langgraph_node_retries_total", { ...g, node: "exhaust", reason: "server_error" })).toBe(2 * N);
    expect(await sum(metrics, "langgraph_node_retries_exhausted_total", { ...g, node: "exhaust" })).toBe(N);
    // Breaker: volumeThreshold 2 → the first two calls fail and open it; the other three are rejected at once.
    expect(breaker.state).toBe("open");
    expect(await sum(metrics, "langgraph_circuit_breaker_rejections_total", { breaker: "dep-a" })).toBe(N - 2);
    expect(await sum(metrics, "langgraph_circuit_breaker_transitions_total", { breaker: "dep-a", to: "open" })).toBe(1);
    expect(await sum(metrics, "langgraph_node_fallbacks_total", { ...g, node: "slow" })).toBe(N);
    expect(await sum(metrics, "langgraph_node_fallbacks_total", { ...g, node: "exhaust" })).toBe(N);
    expect(await sum(metrics, "langgraph_node_fallbacks_total", { ...g, node: "gate" })).toBe(N);
    expect(await sum(metrics, "langgraph_idempotency_requests_total", { ...g, node: "charge", result: "miss" })).toBe(N);
    expect(await sum(metrics, "langgraph_idempotency_requests_total", { ...g, node: "charge", result: "hit" })).toBe(N);
    expect(await sum(metrics, "langgraph_node_retries_total", { ...g, node: "charge", reason: "retry_policy" })).toBe(N);
    expect(await sum(metrics, "langgraph_graph_runs_total", { ...g, status: "success" })).toBe(N);
    const text = await metrics.text();
    expect(text).toContain('langgraph_circuit_breaker_state{breaker="dep-a",state="open"} 1');
    expect(text).toContain('langgraph_circuit_breaker_state{breaker="dep-a",state="closed"} 0');
    expect(text).toContain('langgraph_circuit_breaker_state{breaker="dep-a",state="half_open"} 0');
    breaker.shutdown();
    metrics.close();
  });

  it("bulkhead rejections under Send fan-out", async () => {
    const metrics = createMetrics();
    const Fan = Annotation.Root({
      n: Annotation<number>(),
      done: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
    });
    const worker = withFallback(
      withBulkhead(() => new Promise<{ done: string[] }>((resolve) => setTimeout(() => resolve({ done: ["ran"] }), 30)), {
        limit: 1,
        queue: 0,
      }),
      () => ({ done: ["rejected"] }),
    );
    const graph = instrument(
      new StateGraph(Fan)
        .addNode("worker", worker)
        .addConditionalEdges(START, (s) => Array.from({ length: s.n }, () => new Send("worker", { n: 1 })), ["worker"])
        .compile(),
      { metrics, name: "bulk" },
    );
    const out = await graph.invoke({ n: 4 });
    const rejected = out.done.filter((d: string) => d === "rejected").length;
    expect(rejected).toBeGreaterThan(0);
    expect(await sum(metrics, "langgraph_bulkhead_rejections_total", { graph: "bulk", node: "worker" })).toBe(rejected);
    metrics.close();
  });

  it("two registries never count each other's graphs; uninstrumented runs count in both; close() stops counting", async () => {
    const m1 = createMetrics();
    const m2 = createMetrics();
    const flakyGraph = () =>
      new StateGraph(State)
        .addNode(
          "work",
          withFallback(
            withRetry(
              async () => {
                throw http503();
              },
              { retries: 1, clock: instantClock },
            ),
            () => ({ log: ["fb"] }),
          ),
        )
        .addEdge(START, "work")
        .compile();
    const g1 = instrument(flakyGraph(), { metrics: m1, name: "one" });
    const g2 = instrument(flakyGraph(), { metrics: m2, name: "two" });
    const bare = flakyGraph();
    await g1.invoke({});
    await g1.invoke({});
    await g2.invoke({});
    await bare.invoke({});
    expect(await sum(m1, "langgraph_node_retries_total", { graph: "one" })).toBe(2);
    expect(await sum(m1, "langgraph_node_retries_total", { graph: "two" })).toBe(0);
    expect(await sum(m2, "langgraph_node_retries_total", { graph: "two" })).toBe(1);
    expect(await sum(m2, "langgraph_node_retries_total", { graph: "one" })).toBe(0);
    expect(await sum(m1, "langgraph_node_retries_total", { graph: "unknown" })).toBe(1);
    expect(await sum(m2, "langgraph_node_retries_total", { graph: "unknown" })).toBe(1);
    m1.close();
    await bare.invoke({});
    expect(await sum(m1, "langgraph_node_retries_total", { graph: "unknown" })).toBe(1);
    expect(await sum(m2, "langgraph_node_retries_total", { graph: "unknown" })).toBe(2);
    m2.close();
  });

  it("the breaker gauge is one-hot for all three states from the breaker's creation on", async () => {
    const metrics = createMetrics();
    const breaker = createCircuitBreaker({ name: "fresh-breaker" });
    const text = await metrics.text();
    expect(text).toContain('langgraph_circuit_breaker_state{breaker="fresh-breaker",state="closed"} 1');
    expect(text).toContain('langgraph_circuit_breaker_state{breaker="fresh-breaker",state="open"} 0');
    expect(text).toContain('langgraph_circuit_breaker_state{breaker="fresh-breaker",state="half_open"} 0');
    expect(text).toContain('langgraph_circuit_breaker_transitions_total{breaker="fresh-breaker",to="open"} 0');
    expect(text).toContain('langgraph_circuit_breaker_rejections_total{breaker="fresh-breaker"} 0');
    breaker.shutdown();
    expect(await metrics.text()).not.toContain('breaker="fresh-breaker",state="closed"');
    metrics.close();
  });
});

describe("cardinality guard", () => {
  it("10,000 distinct node, tool and model names fold into __other__ past maxLabelValues", async () => {
    const metrics = createMetrics({ maxLabelValues: 50 });
    const DISTINCT = 10_000;
    const Wide = Annotation.Root({ i: Annotation<number>() });
    // LangGraph plans a superstep in time quadratic in its width: 100 graphs of 100 parallel nodes each.
    const WIDTH = 100;
    for (let g = 0; g < DISTINCT / WIDTH; g++) {
      const builder = new StateGraph(Wide);
      const names = Array.from({ length: WIDTH }, (_, i) => `node_${g * WIDTH + i}`);
      for (const name of names) builder.addNode(name, async () => ({}));
      await instrument(builder.addConditionalEdges(START, () => names).compile(), { metrics, name: "wide" }).invoke({ i: 0 });
    }
    const tools = Array.from({ length: DISTINCT }, (_, i) =>
      tool(async () => "ok", { name: `tool_${i}`, description: "t", schema: z.object({}) }),
    );
    const models = Array.from({ length: DISTINCT }, (_, i) => new ScriptedChatModel([{ content: "x" }], `model_${i}`));
    const calls = instrument(
      new StateGraph(Wide)
        .addNode("calls", async (_s, config) => {
          for (const t of tools) await t.invoke({}, config);
          for (const m of models) await m.invoke("hi", config);
          return {};
        })
        .addEdge(START, "calls")
        .compile(),
      { metrics, name: "calls" },
    );
    await calls.invoke({ i: 0 });
    const distinct = async (metric: string, label: string) =>
      new Set((await metrics.registry.getSingleMetric(metric)?.get())?.values.map((v) => String(v.labels[label])));
    const nodes = await distinct("langgraph_node_executions_total", "node");
    expect(nodes.size).toBe(51);
    expect(nodes.has(OTHER_LABEL)).toBe(true);
    expect(await sum(metrics, "langgraph_node_executions_total", { graph: "wide" })).toBe(DISTINCT);
    expect(await sum(metrics, "langgraph_node_executions_total", { graph: "wide", node: OTHER_LABEL })).toBe(DISTINCT - 50);
    expect((await distinct("langgraph_tool_calls_total", "tool")).size).toBe(51);
    expect(await sum(metrics, "langgraph_tool_calls_total", { tool: OTHER_LABEL })).toBe(DISTINCT - 50);
    expect((await distinct("gen_ai_client_operation_duration_seconds", "gen_ai_request_model")).size).toBe(51);
    expect(await sum(metrics, "gen_ai_client_operation_duration_seconds_count", { gen_ai_request_model: OTHER_LABEL })).toBe(DISTINCT - 50);
  }, 60_000);
});

describe("exemplars", () => {
  const provider = new BasicTracerProvider();
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  trace.setGlobalTracerProvider(provider);
  afterAll(async () => {
    await provider.shutdown();
    context.disable();
    trace.disable();
  });

  it("with exemplars: true and an active span, histogram observations carry trace_id and OpenMetrics is served", async () => {
    const metrics = createMetrics({ exemplars: true });
    expect(metrics.contentType).toBe(Registry.OPENMETRICS_CONTENT_TYPE);
    const graph = instrument(
      new StateGraph(State)
        .addNode("a", async () => ({ log: ["a"] }))
        .addEdge(START, "a")
        .compile(),
      { metrics, name: "ex" },
    );
    const tracer = trace.getTracer("test");
    const traceId = await tracer.startActiveSpan("request", async (span) => {
      await graph.invoke({});
      span.end();
      return span.spanContext().traceId;
    });
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const text = await metrics.text();
    const exemplarLines = text.split("\n").filter((l) => l.includes(`trace_id="${traceId}"`));
    expect(exemplarLines.some((l) => l.startsWith("langgraph_node_duration_seconds_bucket"))).toBe(true);
    expect(exemplarLines.some((l) => l.startsWith("langgraph_graph_run_duration_seconds_bucket"))).toBe(true);
    expect(text.trimEnd().endsWith("# EOF")).toBe(true);
    // A run without an active span attaches no exemplar of its own: every exemplar still names the first trace.
    await graph.invoke({});
    const ids = new Set([...(await metrics.text()).matchAll(/trace_id="([0-9a-f]+)"/g)].map((m) => m[1]));
    expect(ids).toEqual(new Set([traceId]));
    metrics.close();
  });
});

describe("createMetrics options", () => {
  it("defaults: no process metrics, langgraph_ prefix; defaultMetrics and prefix are honoured", async () => {
    const plain = createMetrics();
    expect(await plain.text()).not.toContain("process_cpu");
    const custom = createMetrics({ defaultMetrics: true, prefix: "agents_" });
    const text = await custom.text();
    expect(text).toContain("process_cpu_user_seconds_total");
    expect(text).toContain("# TYPE agents_graph_runs_total counter");
    expect(text).toContain("# TYPE gen_ai_client_token_usage histogram");
    plain.close();
    custom.close();
  });

  it("bad options throw a TypeError naming the option", () => {
    expect(() => createMetrics({ maxLabelValues: 0 })).toThrow(/maxLabelValues/);
    expect(() => createMetrics({ prefix: "bad prefix" })).toThrow(/prefix/);
    expect(() => createMetrics({ exemplars: "yes" as never })).toThrow(/exemplars/);
    expect(() => createMetrics({ registry: {} as never })).toThrow(/registry/);
    expect(() => createMetrics({ nope: 1 } as never)).toThrow(/nope/);
    expect(() => createMetrics({ exemplars: true, registry: new Registry() })).toThrow(/OpenMetrics/);
    const registry = new Registry();
    createMetrics({ registry }).close();
    expect(() => createMetrics({ registry })).toThrow(/already/);
  });
});

describe("token usage sources", () => {
  it("usage_metadata first, then OpenAI tokenUsage / estimatedTokenUsage, then a raw provider usage object", () => {
    const message = (usage: Record<string, number>) => ({ text: "", message: { usage_metadata: usage } });
    expect(
      tokenUsage({
        generations: [[message({ input_tokens: 3, output_tokens: 4 }), message({ input_tokens: 1, output_tokens: 1 })]],
      } as never),
    ).toEqual({
      input: 4,
      output: 5,
    });
    expect(tokenUsage({ generations: [[{ text: "" }]], llmOutput: { tokenUsage: { promptTokens: 9, completionTokens: 2 } } })).toEqual({
      input: 9,
      output: 2,
    });
    expect(tokenUsage({ generations: [], llmOutput: { estimatedTokenUsage: { promptTokens: 5, completionTokens: 6 } } })).toEqual({
      input: 5,
      output: 6,
    });
    expect(tokenUsage({ generations: [], llmOutput: { usage: { input_tokens: 7, output_tokens: 8 } } })).toEqual({ input: 7, output: 8 });
    expect(tokenUsage({ generations: [], llmOutput: { usage: { prompt_tokens: 1, completion_tokens: 2 } } })).toEqual({
      input: 1,
      output: 2,
    });
    expect(tokenUsage({ generations: [] })).toEqual({ input: undefined, output: undefined });
  });
});
