/**
 * `instrument()` on the agents whose nodes you don't write: `createAgent` (langchain's `ReactAgent` wrapper) and
 * `createReactAgent` (a `CompiledStateGraph`), each with the kit's resilience (middleware / `resilientModel`) and
 * without, on the real `ChatOpenAI` against the fake provider: node names, tool calls, tokens and the span tree.
 */
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createAgent, tool } from "langchain";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { resilientModel } from "../src/agents/resilient-model.js";
import { resilienceMiddleware } from "../src/integrations/langchain.js";
import { instrument } from "../src/observability/instrument.js";
import { createMetrics, type Metrics } from "../src/observability/metrics.js";
import { sum } from "./metrics-fixtures.js";
import { chatModel, FAST_RETRY } from "./support/agent-models.js";
import { type FakeProvider, startFakeProvider } from "./support/fake-provider.js";

const exporter = new InMemorySpanExporter();
const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = tracerProvider.getTracer("instrument-create-agent");
let provider: FakeProvider;

beforeAll(async () => {
  provider = await startFakeProvider();
});
afterAll(async () => {
  await provider?.close();
  await tracerProvider.shutdown();
});
afterEach(() => {
  provider.clear();
  exporter.reset();
});

const USAGE = { input: 11, output: 7 };
const lookup = tool(async ({ q }: { q: string }) => `found ${q}`, {
  name: "lookup",
  description: "looks something up",
  schema: z.object({ q: z.string() }),
});

interface Case {
  name: string;
  /** The model node's name in this kind of agent. */
  modelNode: string;
  build(resilience: boolean): { invoke(input: unknown, config?: unknown): Promise<unknown> } & Record<string, unknown>;
}

const CASES: Case[] = [
  {
    name: "createAgent",
    modelNode: "model_request",
    build: (resilience) =>
      createAgent({
        model: chatModel("openai", provider),
        tools: [lookup],
        middleware: resilience ? [resilienceMiddleware({ model: { retry: { retries: 2, ...FAST_RETRY } } })] : [],
      }) as never,
  },
  {
    name: "createReactAgent",
    modelNode: "agent",
    build: (resilience) =>
      createReactAgent({
        llm: resilience
          ? resilientModel(chatModel("openai", provider), { retry: { retries: 2, ...FAST_RETRY } })
          : chatModel("openai", provider),
        tools: [lookup],
      }) as never,
  },
];

function spanNamed(spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((s) => s.name === name);
}

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

async function check(metrics: Metrics, graph: string, modelNode: string, llmCalls: number, failedLlmCalls: number): Promise<void> {
  const g = { graph };
  expect(await sum(metrics, "langgraph_graph_runs_total", { ...g, status: "success" })).toBe(1);
  expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: modelNode, status: "success" })).toBe(2);
  expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "tools", status: "success" })).toBe(1);
  expect(await sum(metrics, "langgraph_tool_calls_total", { ...g, tool: "lookup", status: "success" })).toBe(1);
  const gen = { gen_ai_request_model: "gpt-4o-mini", gen_ai_provider_name: "openai" };
  expect(await sum(metrics, "gen_ai_client_operation_duration_seconds_count", { ...gen, error_type: "" })).toBe(llmCalls - failedLlmCalls);
  expect(await sum(metrics, "gen_ai_client_operation_duration_seconds_count", gen)).toBe(llmCalls);
  expect(await sum(metrics, "gen_ai_client_token_usage_sum", { ...gen, gen_ai_token_type: "input" })).toBe(USAGE.input * 2);
  expect(await sum(metrics, "gen_ai_client_token_usage_sum", { ...gen, gen_ai_token_type: "output" })).toBe(USAGE.output * 2);

  const spans = exporter.getFinishedSpans();
  const [root] = spanNamed(spans, graph);
  expect(root).toBeDefined();
  expect(parentOf(root!)).toBeUndefined();
  const modelSpans = spanNamed(spans, modelNode);
  expect(modelSpans).toHaveLength(2);
  for (const s of modelSpans) expect(parentOf(s)).toBe(root!.spanContext().spanId);
  const llmSpans = spanNamed(spans, "chat gpt-4o-mini");
  expect(llmSpans).toHaveLength(llmCalls);
  const modelSpanIds = new Set(modelSpans.map((s) => s.spanContext().spanId));
  for (const s of llmSpans) expect(modelSpanIds.has(parentOf(s) ?? "")).toBe(true);
  expect(llmSpans.filter((s) => s.status.code === 2)).toHaveLength(failedLlmCalls);
  const [toolsSpan] = spanNamed(spans, "tools");
  const [toolSpan] = spanNamed(spans, "execute_tool lookup");
  expect(parentOf(toolSpan!)).toBe(toolsSpan!.spanContext().spanId);
  // No spans for LangGraph or langchain internals.
  expect(spans.filter((s) => s.name.startsWith("__") || s.name === "RunnableSequence")).toEqual([]);
}

describe.each(CASES)("instrument() on $name", ({ name, modelNode, build }) => {
  it("without the kit's resilience: node names, tool call, tokens and spans", async () => {
    const metrics = createMetrics();
    const graph = `${name}-plain`;
    const agent = instrument(build(false) as never, { metrics, tracing: { tracer }, name: graph }) as ReturnType<Case["build"]>;
    provider.enqueue(
      { reply: { toolCalls: [{ name: "lookup", args: { q: "x" }, id: "call_1" }], usage: USAGE } },
      { reply: { text: "done", usage: USAGE } },
    );
    await agent.invoke({ messages: [{ role: "user", content: "find x" }] });
    await check(metrics, graph, modelNode, 2, 0);
  });

  it("with the kit's resilience: each retried attempt is its own LLM call and span under the model node", async () => {
    const metrics = createMetrics();
    const graph = `${name}-resilient`;
    const agent = instrument(build(true) as never, { metrics, tracing: { tracer }, name: graph }) as ReturnType<Case["build"]>;
    provider.enqueue(
      { fault: "server_error", status: 503 },
      { reply: { toolCalls: [{ name: "lookup", args: { q: "x" }, id: "call_1" }], usage: USAGE } },
      { reply: { text: "done", usage: USAGE } },
    );
    await agent.invoke({ messages: [{ role: "user", content: "find x" }] });
    await check(metrics, graph, modelNode, 3, 1);
    expect(await sum(metrics, "langgraph_node_retries_total", { graph, node: modelNode, reason: "server_error" })).toBe(1);
    const retried = spanNamed(exporter.getFinishedSpans(), modelNode).find((s) => s.events.some((e) => e.name === "langgraph.retry"));
    expect(retried).toBeDefined();
  });
});
