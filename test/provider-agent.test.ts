/**
 * `createAgent` (from `langchain`) with the real ChatOpenAI / ChatAnthropic against the fake provider: a tool call and
 * the final answer, instrumented with `instrument()` (real prom-client registry, real OpenTelemetry SDK).
 */
import { tool } from "@langchain/core/tools";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createAgent } from "langchain";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createMetrics, instrument } from "../src/index.js";
import { sum } from "./metrics-fixtures.js";
import { type FakeProvider, startFakeProvider } from "./support/fake-provider.js";
import { chatAnthropic, chatOpenAI } from "./support/provider-clients.js";

const exporter = new InMemorySpanExporter();
const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let provider: FakeProvider;
beforeAll(async () => {
  tracerProvider.register();
  provider = await startFakeProvider();
});
afterAll(async () => {
  await provider.close();
  await tracerProvider.shutdown();
});
beforeEach(() => {
  exporter.reset();
  provider.clear();
});

let lookups = 0;
const lookup = tool(
  async ({ q }: { q: string }) => {
    lookups += 1;
    return `definition of ${q}`;
  },
  { name: "lookup", description: "Looks a word up", schema: z.object({ q: z.string() }) },
);

describe.each([
  ["ChatOpenAI", "openai", () => chatOpenAI(provider, { maxRetries: 0 })],
  ["ChatAnthropic", "anthropic", () => chatAnthropic(provider, { maxRetries: 0 })],
] as const)("createAgent with %s", (_name, api, model) => {
  it("calls the tool, answers, and is measured and traced", async () => {
    provider.enqueue(
      { reply: { toolCalls: [{ name: "lookup", args: { q: "otter" } }], usage: { input: 20, output: 5 } } },
      { reply: { text: "An otter is a mammal.", usage: { input: 40, output: 6 } } },
    );
    const before = lookups;
    const metrics = createMetrics();
    const agent = instrument(createAgent({ model: model(), tools: [lookup] }), { metrics, tracing: true, name: "agent" });
    const out = await agent.invoke({ messages: [{ role: "user", content: "what is an otter?" }] });

    expect(out.messages.at(-1)?.content).toBe("An otter is a mammal.");
    expect(lookups - before).toBe(1);
    expect(provider.count(api)).toBe(2);
    // The second request carries the tool's result back to the provider.
    expect(JSON.stringify(provider.requests[1]?.body)).toContain("definition of otter");

    expect(await sum(metrics, "langgraph_tool_calls_total", { graph: "agent", tool: "lookup", status: "success" })).toBe(1);
    expect(await sum(metrics, "gen_ai_client_operation_duration_seconds_count", { error_type: "" })).toBe(2);
    expect(await sum(metrics, "gen_ai_client_token_usage_sum", { gen_ai_token_type: "input" })).toBe(60);
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "agent", status: "success" })).toBe(1);

    const spans = exporter.getFinishedSpans();
    expect(spans.filter((s) => s.name.startsWith("chat "))).toHaveLength(2);
    expect(spans.filter((s) => s.name === "execute_tool lookup")).toHaveLength(1);
    const root = spans.find((s) => s.name === "agent");
    expect(root).toBeDefined();
    for (const span of spans) expect(span.spanContext().traceId).toBe(root?.spanContext().traceId);
  });
});
