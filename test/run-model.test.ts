/**
 * One run model: the same runs, fed once to metrics, tracing and logging through `instrument()`'s one handler, read
 * back from a real prom-client registry, the real OpenTelemetry SDK and a pino logger. The three signals must agree
 * on status, error type, model, provider and tokens — in the cases where they used to disagree.
 */
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { HumanMessage, AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { RunnableLambda } from "@langchain/core/runnables";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { InstrumentCallbackHandler } from "../src/observability/instrument-handler.js";
import { instrument, instrumentHandlerOf } from "../src/observability/instrument.js";
import { createLogger, createLoggingHandler } from "../src/observability/logging.js";
import { MetricsCallbackHandler } from "../src/observability/metrics-handler.js";
import { coreOf, createMetrics, type Metrics } from "../src/observability/metrics.js";
import { sinkOf } from "../src/observability/runs/callback-source.js";
import { RunTracker } from "../src/observability/runs/tracker.js";
import type { RunSink } from "../src/observability/runs/types.js";
import { createTracingHandler } from "../src/observability/tracing/handler.js";
import { openRunCount } from "../src/observability/tracing/registry.js";
import { ScriptedChatModel, sum } from "./metrics-fixtures.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => {
  provider.register();
});
afterAll(async () => {
  await provider.shutdown();
});
beforeEach(() => exporter.reset());

type Line = Record<string, unknown> & { msg: string };

/** The three signals of one instrumented graph. */
function signals(): { metrics: Metrics; lines: Line[]; logger: ReturnType<typeof createLogger> } {
  const lines: Line[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (s: string) => void lines.push(JSON.parse(s) as Line) } });
  return { metrics: createMetrics(), lines, logger };
}

/** A scripted model that reports another LangChain provider (`ls_provider`) and declares its model name. */
class ProviderModel extends ScriptedChatModel {
  constructor(
    readonly lsProvider: string,
    model: string,
  ) {
    super([{ content: "ok" }], model, { input: 13, output: 4 });
  }
  override getLsParams(options: this["ParsedCallOptions"]) {
    return { ...super.getLsParams(options), ls_provider: this.lsProvider };
  }
  override invocationParams(): Record<string, unknown> {
    // A different name in the request parameters: LangChain's declared ls_model_name wins in every signal.
    return { model: `${this.model}-request-alias` };
  }
}

/** Returns two generations per call (n = 2), each with its own usage. */
class TwoChoiceModel extends ScriptedChatModel {
  constructor() {
    super([{ content: "a" }], "two-choice-1");
  }
  override async _generate(_m: BaseMessage[], _o: this["ParsedCallOptions"], _r?: CallbackManagerForLLMRun): Promise<ChatResult> {
    const choice = (content: string, input: number, output: number) => ({
      text: content,
      message: new AIMessage({
        content,
        usage_metadata: { input_tokens: input, output_tokens: output, total_tokens: input + output },
      }),
    });
    return { generations: [choice("first", 10, 3), choice("second", 12, 5)] };
  }
}

class ProviderBusyError extends Error {
  status = 529;
}

const State = Annotation.Root({ note: Annotation<string>({ reducer: (_a, b) => b, default: () => "" }) });

function spansOf(name: string): ReadableSpan[] {
  const all = exporter.getFinishedSpans();
  const root = all.find((s) => s.name === name && s.attributes["langgraph.run.status"] !== undefined);
  if (root === undefined) return [];
  return all.filter((s) => s.spanContext().traceId === root.spanContext().traceId);
}

const one = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const found = spans.filter((s) => s.name === name);
  expect(found, name).toHaveLength(1);
  return found[0] as ReadableSpan;
};

/** The LLM facts a span and the metrics report for one (provider, model). */
async function llmFacts(metrics: Metrics, span: ReadableSpan) {
  const labels = {
    gen_ai_provider_name: String(span.attributes["gen_ai.provider.name"]),
    gen_ai_request_model: String(span.attributes["gen_ai.request.model"]),
  };
  return {
    calls: await sum(metrics, "gen_ai_client_operation_duration_seconds_count", {
      ...labels,
      error_type: String(span.attributes["error.type"] ?? ""),
    }),
    input: await sum(metrics, "gen_ai_client_token_usage_sum", { ...labels, gen_ai_token_type: "input" }),
    output: await sum(metrics, "gen_ai_client_token_usage_sum", { ...labels, gen_ai_token_type: "output" }),
  };
}

describe("one run model: metrics, spans and logs agree", () => {
  it('Error("Aborted") (what @langchain/core makes of an aborted signal) is a cancellation everywhere', async () => {
    const { metrics, lines, logger } = signals();
    const aborting = new ScriptedChatModel([{ fail: new Error("Aborted") }], "abort-model");
    const graph = new StateGraph(State)
      .addNode("ask", async () => {
        await aborting.invoke([new HumanMessage("hi")]);
        return {};
      })
      .addEdge(START, "ask")
      .addEdge("ask", END)
      .compile();
    const app = instrument(graph, { metrics, tracing: true, logger, name: "aborted" });
    await expect(app.invoke({ note: "" })).rejects.toThrow("Aborted");

    const g = { graph: "aborted" };
    expect(await sum(metrics, "langgraph_graph_runs_total", { ...g, status: "cancelled" })).toBe(1);
    expect(await sum(metrics, "langgraph_graph_runs_total", { ...g, status: "error" })).toBe(0);
    expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "ask", status: "cancelled" })).toBe(1);
    expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "ask", status: "error" })).toBe(0);

    const spans = spansOf("aborted");
    expect(one(spans, "aborted").attributes).toMatchObject({ "langgraph.run.status": "cancelled", "error.type": "cancelled" });
    const node = one(spans, "ask");
    expect(node.attributes["error.type"]).toBe("cancelled");
    expect(node.events.map((e) => e.name)).toContain("langgraph.cancelled");
    const chat = one(spans, "chat abort-model");
    expect(chat.attributes["error.type"]).toBe("cancelled");
    expect(await llmFacts(metrics, chat)).toEqual({ calls: 1, input: 0, output: 0 });

    expect(lines.find((l) => l.msg === "node cancelled")).toMatchObject({ node: "ask", status: "cancelled" });
    expect(lines.find((l) => l.msg === "graph run cancelled")).toMatchObject({ status: "cancelled" });
    expect(lines.filter((l) => l.status === "error")).toEqual([]);
  });

  it("a failure has one error type: the class name, on the metric label, the span and the log line", async () => {
    const { metrics, lines, logger } = signals();
    const busy = new ScriptedChatModel([{ fail: new ProviderBusyError("busy") }], "busy-model");
    const graph = new StateGraph(State)
      .addNode("ask", async () => {
        await busy.invoke([new HumanMessage("hi")]);
        return {};
      })
      .addEdge(START, "ask")
      .compile();
    const app = instrument(graph, { metrics, tracing: true, logger, name: "failing" });
    await expect(app.invoke({ note: "" })).rejects.toThrow("busy");

    const spans = spansOf("failing");
    const chat = one(spans, "chat busy-model");
    expect(chat.attributes).toMatchObject({ "error.type": "ProviderBusyError", "langgraph.error.status": 529 });
    expect(await llmFacts(metrics, chat)).toEqual({ calls: 1, input: 0, output: 0 });
    expect(one(spans, "ask").attributes["error.type"]).toBe("ProviderBusyError");
    expect(one(spans, "failing").attributes["langgraph.run.status"]).toBe("error");
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "failing", status: "error" })).toBe(1);
    expect(await sum(metrics, "langgraph_node_executions_total", { graph: "failing", node: "ask", status: "error" })).toBe(1);
    expect(lines.find((l) => l.msg === "node failed")).toMatchObject({
      status: "error",
      error_type: "ProviderBusyError",
      error_status: 529,
    });
    expect(lines.find((l) => l.msg === "graph run failed")).toMatchObject({ status: "error", error_type: "ProviderBusyError" });
  });

  it("Bedrock and Vertex: the GenAI provider names, and the declared model name, in metrics and spans alike", async () => {
    const { metrics, lines, logger } = signals();
    const bedrock = new ProviderModel("bedrock", "anthropic.claude-3-haiku");
    const vertex = new ProviderModel("google_vertexai", "gemini-1.5-pro");
    const graph = new StateGraph(State)
      .addNode("both", async () => {
        await bedrock.invoke([new HumanMessage("hi")]);
        await vertex.invoke([new HumanMessage("hi")]);
        return {};
      })
      .addEdge(START, "both")
      .compile();
    await instrument(graph, { metrics, tracing: true, logger, name: "providers" }).invoke({ note: "" });

    const spans = spansOf("providers");
    const claude = one(spans, "chat anthropic.claude-3-haiku");
    const gemini = one(spans, "chat gemini-1.5-pro");
    expect(claude.attributes["gen_ai.provider.name"]).toBe("aws.bedrock");
    expect(gemini.attributes["gen_ai.provider.name"]).toBe("gcp.vertex_ai");
    for (const span of [claude, gemini]) {
      expect(span.attributes).toMatchObject({ "gen_ai.usage.input_tokens": 13, "gen_ai.usage.output_tokens": 4 });
      expect(await llmFacts(metrics, span)).toEqual({ calls: 1, input: 13, output: 4 });
    }
    // No raw LangChain provider value and no request-parameter alias reached a series.
    const text = await metrics.text();
    expect(text).not.toMatch(/gen_ai_provider_name="(bedrock|google_vertexai)"/);
    expect(text).not.toContain("request-alias");
    expect(lines.find((l) => l.msg === "graph run finished")).toMatchObject({ graph: "providers", status: "success" });
  });

  it("a multi-generation result: tokens summed over every generation in metrics and spans", async () => {
    const { metrics, logger } = signals();
    const model = new TwoChoiceModel();
    const graph = new StateGraph(State)
      .addNode("choose", async () => {
        await model.invoke([new HumanMessage("pick")]);
        return {};
      })
      .addEdge(START, "choose")
      .compile();
    await instrument(graph, { metrics, tracing: true, logger, name: "choices" }).invoke({ note: "" });

    const chat = one(spansOf("choices"), "chat two-choice-1");
    expect(chat.attributes).toMatchObject({ "gen_ai.usage.input_tokens": 22, "gen_ai.usage.output_tokens": 8 });
    expect(JSON.parse(String(chat.attributes["langfuse.observation.usage_details"]))).toEqual({ input: 22, output: 8, total: 30 });
    expect(await llmFacts(metrics, chat)).toEqual({ calls: 1, input: 22, output: 8 });
  });

  it("a bare chain run without a parent is no graph run in any signal; the model call inside it is the same call in all", async () => {
    const { metrics, lines, logger } = signals();
    const graph = new StateGraph(State)
      .addNode("noop", async () => ({}))
      .addEdge(START, "noop")
      .compile();
    const app = instrument(graph, { metrics, tracing: true, logger, name: "bare" });
    const handler = instrumentHandlerOf(app);
    expect(handler).toBeInstanceOf(InstrumentCallbackHandler);
    const model = new ProviderModel("bedrock", "bare-model");
    const chain = RunnableLambda.from(async (text: string, config) => model.invoke([new HumanMessage(text)], config));
    await chain.invoke("hi", { callbacks: [handler as InstrumentCallbackHandler] });

    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "bare" })).toBe(0);
    expect(await sum(metrics, "langgraph_graph_runs_in_flight", { graph: "bare" })).toBe(0);
    const all = exporter.getFinishedSpans();
    expect(all.filter((s) => s.attributes["langgraph.run.status"] !== undefined)).toEqual([]);
    expect(lines.filter((l) => typeof l.msg === "string" && l.msg.startsWith("graph run"))).toEqual([]);
    const chat = all.find((s) => s.name === "chat bare-model") as ReadableSpan;
    expect(chat.attributes["gen_ai.provider.name"]).toBe("aws.bedrock");
    expect(await llmFacts(metrics, chat)).toEqual({ calls: 1, input: 13, output: 4 });
  });

  it("a RemoteGraph run is a graph run in every signal", async () => {
    const { metrics, lines, logger } = signals();
    /** Serialises as LangGraph's RemoteGraph does (`["langgraph", "pregel", "RemoteGraph"]`). */
    class RemoteGraph extends RunnableLambda<{ note: string }, { note: string }> {
      static override lc_name() {
        return "RemoteGraph";
      }
      override lc_namespace = ["langgraph", "pregel"];
    }
    const graph = new StateGraph(State)
      .addNode("noop", async () => ({}))
      .addEdge(START, "noop")
      .compile();
    const app = instrument(graph, { metrics, tracing: true, logger, name: "remote" });
    const handler = instrumentHandlerOf(app);
    const remote = new RemoteGraph({ func: async (state: { note: string }) => ({ note: `${state.note}!` }) });
    await remote.invoke({ note: "hi" }, { callbacks: [handler as InstrumentCallbackHandler], metadata: { thread_id: "t-remote" } });
    const failing = new RemoteGraph({
      func: async () => {
        throw new Error("Aborted");
      },
    });
    await expect(failing.invoke({ note: "hi" }, { callbacks: [handler as InstrumentCallbackHandler] })).rejects.toThrow();

    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "remote", status: "success" })).toBe(1);
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "remote", status: "cancelled" })).toBe(1);
    expect(await sum(metrics, "langgraph_graph_runs_in_flight", { graph: "remote" })).toBe(0);
    const roots = exporter.getFinishedSpans().filter((s) => s.name === "remote");
    expect(roots.map((s) => s.attributes["langgraph.run.status"]).sort()).toEqual(["cancelled", "success"]);
    expect(roots.find((s) => s.attributes["langgraph.run.status"] === "success")?.attributes["gen_ai.conversation.id"]).toBe("t-remote");
    expect(lines.find((l) => l.msg === "graph run finished")).toMatchObject({ graph: "remote", status: "success" });
    expect(lines.find((l) => l.msg === "graph run cancelled")).toMatchObject({ graph: "remote", status: "cancelled" });
  });
});

describe("the run tracker as its own source's sink host", () => {
  it("takes run events from any source through RunInput, and sweeps runs whose end never comes", async () => {
    const { metrics, lines, logger } = signals();
    const sinks = [
      new MetricsCallbackHandler(coreOf(metrics, "metrics"), "sourced"),
      createTracingHandler("sourced", { abandonAfterMs: 1000 }),
      createLoggingHandler(logger, "sourced"),
    ].map((h) => sinkOf(h) as RunSink);
    const tracker = new RunTracker(sinks);
    const openBefore = openRunCount();
    // What a source that is not LangChain's callbacks would report: a graph run, one node, one chat call, no ends.
    tracker.chainStart({
      runId: "r1",
      parentRunId: undefined,
      className: "CompiledStateGraph",
      runName: "sourced",
      tags: [],
      metadata: {},
      inputs: {},
    });
    tracker.chainStart({
      runId: "n1",
      parentRunId: "r1",
      className: "RunnableCallable",
      runName: "work",
      tags: ["graph:step:1"],
      metadata: { langgraph_node: "work", langgraph_step: 1 },
      inputs: {},
    });
    tracker.chainStart({
      runId: "e1",
      parentRunId: "n1",
      className: "RunnableLambda",
      runName: "edge",
      tags: [],
      metadata: {},
      inputs: {},
    });
    tracker.llmStart({
      runId: "l1",
      parentRunId: "e1",
      operation: "chat",
      className: "ChatBedrockConverse",
      metadata: { ls_provider: "amazon_bedrock", ls_model_name: "nova-lite" },
      invocation: undefined,
      input: [[]],
    });
    expect(tracker.size).toBe(4);
    // Spans for the run, the node and the call; the edge has no span but maps to the node's, for code running inside it.
    expect(openRunCount()).toBe(openBefore + 4);
    expect(await sum(metrics, "langgraph_graph_runs_in_flight", { graph: "sourced" })).toBe(1);

    expect(tracker.sweep(performance.now())).toBe(0);
    expect(tracker.sweep(performance.now() + 1000)).toBe(3);
    expect(tracker.size).toBe(0);
    expect(openRunCount()).toBe(openBefore);
    expect(await sum(metrics, "langgraph_graph_runs_in_flight", { graph: "sourced" })).toBe(0);
    // Nobody knows how a swept run ended: it is not counted as any status.
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "sourced" })).toBe(0);
    const swept = exporter.getFinishedSpans().filter((s) => s.attributes["error.type"] === "abandoned");
    expect(swept.map((s) => s.name).sort()).toEqual(["chat nova-lite", "sourced", "work"]);
    expect(swept.find((s) => s.name === "chat nova-lite")?.parentSpanContext?.spanId).toBe(
      swept.find((s) => s.name === "work")?.spanContext().spanId,
    );
    expect(swept.find((s) => s.name === "chat nova-lite")?.attributes["gen_ai.provider.name"]).toBe("aws.bedrock");
    expect(lines.filter((l) => l.status !== undefined)).toEqual([]);
  });
});
