/**
 * startTelemetry: configuration from the standard environment variables, both exporters at once, per-run
 * ParentBased(TraceIdRatio) sampling, flushing on shutdown, and graph runs unaffected by a dead or hanging collector.
 */
import { HumanMessage } from "@langchain/core/messages";
import { context, propagation, TraceFlags, trace } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { buildAgentGraph, buildChainGraph } from "../bench/tracing-fixtures.js";
import type { Counter } from "prom-client";
import { startTelemetry, type Telemetry } from "../src/integrations/otel.js";
import { createMetrics, type Metrics } from "../src/observability/metrics.js";
import { createTracingHandler } from "../src/observability/tracing/handler.js";
import { type OtlpReceiver, startOtlpReceiver } from "./support/otlp-receiver.js";
import { freePort } from "./support/ports.js";

const ENV_KEYS = [
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_SERVICE_NAME",
  "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
  "OTEL_BSP_SCHEDULE_DELAY",
  "OTEL_BSP_EXPORT_TIMEOUT",
  "LANGFUSE_PUBLIC_KEY",
  "LANGFUSE_SECRET_KEY",
  "LANGFUSE_BASE_URL",
  "LANGFUSE_TIMEOUT",
] as const;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const key of ENV_KEYS) delete process.env[key];
  // Each test installs its own SDK; the API only accepts one global provider at a time.
  trace.disable();
  context.disable();
  propagation.disable();
});

async function receiver(options?: Parameters<typeof startOtlpReceiver>[0]): Promise<OtlpReceiver> {
  const r = await startOtlpReceiver(options);
  cleanups.push(() => r.close());
  return r;
}
function start(options?: Parameters<typeof startTelemetry>[0]): Telemetry {
  const t = startTelemetry(options);
  cleanups.push(() => t.shutdown());
  return t;
}

/** `langgraph_trace_export_spans_total{exporter, result}`, or NaN when the series does not exist. */
async function exportedSpans(metrics: Metrics, exporter: string, result: string): Promise<number> {
  const { values } = await (metrics.registry.getSingleMetric("langgraph_trace_export_spans_total") as Counter).get();
  const found = values.find((v) => v.labels.exporter === exporter && v.labels.result === result);
  return found === undefined ? Number.NaN : found.value;
}

const chain = () => buildChainGraph(10).withConfig({ callbacks: [createTracingHandler("chain", true)] });

describe("startTelemetry", () => {
  it("reads OTEL_* and LANGFUSE_* variables, exports to both destinations, and shutdown() flushes", async () => {
    const collector = await receiver();
    const langfuse = await receiver({ path: "/api/public/otel/v1/traces" });
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = collector.url;
    process.env.OTEL_SERVICE_NAME = "from-env";
    process.env.LANGFUSE_PUBLIC_KEY = "pk-lf-env";
    process.env.LANGFUSE_SECRET_KEY = "sk-lf-env";
    process.env.LANGFUSE_BASE_URL = langfuse.origin;
    const metrics = createMetrics();
    cleanups.push(async () => metrics.close());
    const telemetry = startTelemetry();
    // Both exporters' series exist at 0 before the first export.
    expect(await exportedSpans(metrics, "otlp", "failure")).toBe(0);
    expect(await exportedSpans(metrics, "langfuse", "success")).toBe(0);
    const result = await chain().invoke({ n: 0 });
    expect(result.n).toBe(10);
    // No forceFlush: shutdown alone must deliver what is buffered.
    await telemetry.shutdown();
    expect(
      collector
        .spans()
        .map((s) => s.name)
        .sort(),
    ).toEqual(["chain", "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"].sort());
    expect(collector.spans()[0]!.resource["service.name"]).toBe("from-env");
    expect(langfuse.spans()).toHaveLength(11);
    expect(langfuse.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from("pk-lf-env:sk-lf-env").toString("base64")}`);
    expect(langfuse.requests[0]!.headers["x-langfuse-public-key"]).toBe("pk-lf-env");
    expect(langfuse.requests[0]!.headers["x-langfuse-ingestion-version"]).toBe("4");
    // Every span the destinations received was counted as exported, and nothing as failed.
    expect(await exportedSpans(metrics, "otlp", "success")).toBe(collector.spans().length);
    expect(await exportedSpans(metrics, "langfuse", "success")).toBe(langfuse.spans().length);
    expect(await exportedSpans(metrics, "otlp", "failure")).toBe(0);
    expect(await exportedSpans(metrics, "langfuse", "failure")).toBe(0);
    await telemetry.shutdown();
  });

  it("samples whole runs: ratio 0 drops every run, a sampled remote parent keeps its run whole", async () => {
    const collector = await receiver();
    const telemetry = start({ serviceName: "sampling", otlp: { url: collector.url }, sampleRatio: 0 });
    const graph = chain();
    for (let i = 0; i < 5; i++) expect((await graph.invoke({ n: 0 })).n).toBe(10);
    const parent = trace.setSpanContext(context.active(), {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    await context.with(parent, () => graph.invoke({ n: 0 }));
    await telemetry.forceFlush();
    const spans = await collector.waitFor((s) => s.length >= 11);
    expect(spans).toHaveLength(11);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set(["4bf92f3577b34da6a3ce929d0e0e4736"]));
    expect(spans.find((s) => s.name === "chain")!.parentSpanId).toBe("00f067aa0ba902b7");
  });

  it("a ratio keeps or drops each run whole", async () => {
    const collector = await receiver();
    const telemetry = start({ serviceName: "ratio", otlp: { url: collector.url }, sampleRatio: 0.5 });
    const graph = chain();
    const RUNS = 40;
    for (let i = 0; i < RUNS; i++) await graph.invoke({ n: 0 });
    await telemetry.forceFlush();
    const spans = collector.spans();
    const byTrace = new Map<string, string[]>();
    for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s.name]);
    // 2^-39 chance of all or none by luck.
    expect(byTrace.size).toBeGreaterThan(0);
    expect(byTrace.size).toBeLessThan(RUNS);
    for (const names of byTrace.values()) expect(names).toHaveLength(11);
  });

  it("a collector that refuses connections fails no run, and flush and shutdown still resolve", async () => {
    const port = await freePort();
    process.env.LANGFUSE_TIMEOUT = "1";
    const telemetry = start({
      serviceName: "dead",
      otlp: { url: `http://127.0.0.1:${port}/v1/traces`, timeoutMillis: 1000 },
      langfuse: { publicKey: "pk", secretKey: "sk", baseUrl: `http://127.0.0.1:${port}` },
    });
    const graph = buildAgentGraph()
      .compile()
      .withConfig({ callbacks: [createTracingHandler("dead", true)] });
    for (let i = 0; i < 10; i++) {
      const out = await graph.invoke({ messages: [new HumanMessage("hi")] }, { configurable: { thread_id: `dead-${i}` } });
      expect(out.messages.at(-1)?.content).toBe("It is sunny.");
    }
    await expect(telemetry.forceFlush()).resolves.toBeUndefined();
    await expect(telemetry.shutdown()).resolves.toBeUndefined();
  });

  it("a collector that never answers holds no run: runs finish while its export requests are still pending", async () => {
    const collector = await receiver({ mode: "hang" });
    process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE = "4";
    process.env.OTEL_BSP_SCHEDULE_DELAY = "5";
    process.env.OTEL_BSP_EXPORT_TIMEOUT = "60000";
    start({ serviceName: "hang", otlp: { url: collector.url, timeoutMillis: 60_000 } });
    const graph = chain();
    // The first batch goes out and hangs; every later run must not wait for it.
    await graph.invoke({ n: 0 });
    const deadline = Date.now() + 10_000;
    while (collector.pending() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(collector.pending()).toBeGreaterThan(0);
    for (let i = 0; i < 200; i++) expect((await graph.invoke({ n: 0 })).n).toBe(10);
    // Still unanswered: the 200 runs above completed with the exporter blocked the whole time.
    expect(collector.pending()).toBeGreaterThan(0);
    expect(collector.requests).toHaveLength(0);
    // Let the SDK's shutdown see the connection drop instead of waiting out its export timeout.
    await collector.close();
  });
});
