/**
 * Metrics (a real prom-client registry through createMetrics) and spans (the real OpenTelemetry SDK, in-memory
 * exporter) for faults from the real provider clients, under resilient() in an instrumented LangGraph graph.
 */
import { SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createMetrics, instrument, resilient } from "../src/index.js";
import { sum } from "./metrics-fixtures.js";
import { type FakeProvider, type Step, startFakeProvider } from "./support/fake-provider.js";
import { fakeClock, oneNodeGraph, type TestNode, threadConfig } from "./support/graph.js";
import { type ClientName, callClient } from "./support/provider-faults.js";

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

async function run(client: ClientName, step: Step) {
  provider.failAlways(step);
  const metrics = createMetrics();
  const call: TestNode = async (_s, config) => ({ result: await callClient(client, provider, { signal: config.signal }) });
  const node = resilient(call, {
    retry: { retries: 2, jitter: "none", minDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, clock: fakeClock() },
  });
  const graph = instrument(oneNodeGraph(node), { metrics, tracing: true, name: "provider" });
  await graph.invoke({ requestId: "r" }, threadConfig()).catch(() => undefined);
  const spans = exporter.getFinishedSpans();
  const labels = { graph: "provider", node: "work" };
  return {
    metrics,
    spans,
    chatSpans: spans.filter((s) => s.name.startsWith("chat ")),
    nodeSpan: spans.find((s) => s.name === "work"),
    rootSpan: spans.find((s) => s.name === "provider"),
    retries: (reason: string) => sum(metrics, "langgraph_node_retries_total", { ...labels, reason }),
    exhausted: () => sum(metrics, "langgraph_node_retries_exhausted_total", labels),
    executions: (status: string) => sum(metrics, "langgraph_node_executions_total", { ...labels, status }),
    llmCalls: (error_type: string) => sum(metrics, "gen_ai_client_operation_duration_seconds_count", { error_type }),
  };
}

describe.each(["ChatOpenAI", "ChatAnthropic"] as const)("%s: metrics and spans per fault", (client) => {
  it("a persistent 503: two retries counted as server_error, one give-up, three failed chat spans", async () => {
    const r = await run(client, { fault: "server_error", status: 503 });
    expect(provider.count()).toBe(3);
    expect(await r.retries("server_error")).toBe(2);
    expect(await r.exhausted()).toBe(1);
    expect(await r.executions("error")).toBe(1);
    // error_type is the class name, as on the spans: a dashboard filter and a trace search use the same value.
    expect(await r.llmCalls("InternalServerError")).toBe(3);
    expect(r.chatSpans).toHaveLength(3);
    for (const span of r.chatSpans)
      expect(span.attributes).toMatchObject({ "error.type": "InternalServerError", "langgraph.error.status": 503 });
    for (const span of r.chatSpans) expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(r.nodeSpan?.status.code).toBe(SpanStatusCode.ERROR);
    expect(r.rootSpan?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("a 429 with retry-after-ms: retries counted as rate_limited", async () => {
    const r = await run(client, { fault: "rate_limited", retryAfterMs: "1500" });
    expect(provider.count()).toBe(3);
    expect(await r.retries("rate_limited")).toBe(2);
    // LangChain (>= 1.1) rethrows a 429 as its own RateLimitCapacityError; spans and metrics both name it.
    expect(await r.llmCalls("RateLimitCapacityError")).toBe(3);
    for (const span of r.chatSpans) expect(span.attributes["error.type"]).toBe("RateLimitCapacityError");
  });

  it("a context overflow: no retry, no give-up, one failed chat span and a failed node", async () => {
    const r = await run(client, { fault: "context_overflow" });
    expect(provider.count()).toBe(1);
    let retries = 0;
    for (const reason of ["context_overflow", "client_error", "unknown"]) retries += await r.retries(reason);
    expect(retries).toBe(0);
    expect(await r.exhausted()).toBe(0);
    expect(await r.executions("error")).toBe(1);
    expect(await r.llmCalls("ContextOverflowError")).toBe(1);
    expect(r.chatSpans).toHaveLength(1);
    expect(r.chatSpans[0]?.status.code).toBe(SpanStatusCode.ERROR);
    expect(r.nodeSpan?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("a reset before the response: retries counted as network", async () => {
    const r = await run(client, { fault: "reset_before_response" });
    expect(provider.count()).toBe(3);
    expect(await r.retries("network")).toBe(2);
    expect(r.chatSpans).toHaveLength(3);
  });
});

describe.each(["openai", "anthropic"] as const)("%s SDK (no LangChain callbacks): node metrics and spans", (client) => {
  it("a persistent 503 and a 401", async () => {
    const r = await run(client, { fault: "server_error", status: 503 });
    expect(provider.count()).toBe(3);
    expect(await r.retries("server_error")).toBe(2);
    expect(await r.exhausted()).toBe(1);
    expect(r.nodeSpan?.status.code).toBe(SpanStatusCode.ERROR);
    expect(r.chatSpans).toHaveLength(0);

    exporter.reset();
    provider.clear();
    const auth = await run(client, { fault: "auth" });
    expect(provider.count()).toBe(1);
    expect(await auth.retries("auth")).toBe(0);
    expect(await auth.executions("error")).toBe(1);
    expect(auth.nodeSpan?.status.code).toBe(SpanStatusCode.ERROR);
  });
});
