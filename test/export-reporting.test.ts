/**
 * reportExports: each finished export of a wrapped span exporter is counted in
 * `langgraph_trace_export_spans_total{exporter, result}` by every Metrics, results pass through unchanged, and an
 * exporter that throws fails only its batch.
 */
import type { ExportResult } from "@opentelemetry/core";
// `@opentelemetry/sdk-trace` has the same API in 2.9+ and 3.x, so this file runs unchanged on both majors.
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, type SpanExporter, TracerProvider } from "@opentelemetry/sdk-trace";
import type { Counter } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { reportExports } from "../src/integrations/otel.js";
import { createMetrics, type Metrics } from "../src/observability/metrics.js";

const opened: Metrics[] = [];
afterEach(() => {
  for (const m of opened.splice(0)) m.close();
});

function metrics(): Metrics {
  const m = createMetrics();
  opened.push(m);
  return m;
}

async function exported(m: Metrics, exporter: string, result: string): Promise<number> {
  const { values } = await (m.registry.getSingleMetric("langgraph_trace_export_spans_total") as Counter).get();
  return values.find((v) => v.labels.exporter === exporter && v.labels.result === result)?.value ?? Number.NaN;
}

/** Ends `n` spans on a real tracer whose processor exports each one through `exporter`. */
async function endSpans(exporter: SpanExporter, n: number): Promise<void> {
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer("export-reporting-test");
  for (let i = 0; i < n; i++) tracer.startSpan(`s${i}`).end();
  await provider.forceFlush();
  await provider.shutdown();
}

/** A span exporter whose destination rejects every batch, as an OTLP exporter reports a 500 after its retries. */
class RejectingExporter implements SpanExporter {
  readonly results: ExportResult[] = [];
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const result = { code: 1, error: new Error("503 from collector") };
    this.results.push(result);
    done(result);
  }
  async shutdown(): Promise<void> {}
}

/** A span exporter with a bug: it throws instead of calling back. */
class ThrowingExporter implements SpanExporter {
  export(): void {
    throw new TypeError("exporter bug");
  }
  async shutdown(): Promise<void> {}
}

describe("reportExports", () => {
  it("counts exported spans per exporter in every Metrics, from 0", async () => {
    const a = metrics();
    const b = metrics();
    const memory = new InMemorySpanExporter();
    const wrapped = reportExports(memory, "memory-test");
    expect(await exported(a, "memory-test", "success")).toBe(0);
    expect(await exported(a, "memory-test", "failure")).toBe(0);
    await endSpans(wrapped, 3);
    expect(memory.getFinishedSpans()).toHaveLength(0); // shutdown() passed through and reset the in-memory exporter
    expect(await exported(a, "memory-test", "success")).toBe(3);
    expect(await exported(b, "memory-test", "success")).toBe(3);
    expect(await exported(a, "memory-test", "failure")).toBe(0);
  });

  it("counts rejected batches as failures and hands the exporter's result on unchanged", async () => {
    const m = metrics();
    const rejecting = new RejectingExporter();
    const wrapped = reportExports(rejecting, "rejecting-test");
    const seen: ExportResult[] = [];
    const span = await oneSpan();
    wrapped.export([span, span], (r) => seen.push(r));
    expect(seen).toEqual(rejecting.results);
    expect(await exported(m, "rejecting-test", "failure")).toBe(2);
    expect(await exported(m, "rejecting-test", "success")).toBe(0);
  });

  it("turns an exporter that throws into one failed batch instead of an exception", async () => {
    const m = metrics();
    const wrapped = reportExports(new ThrowingExporter(), "throwing-test");
    const seen: ExportResult[] = [];
    const span = await oneSpan();
    expect(() => wrapped.export([span], (r) => seen.push(r))).not.toThrow();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.code).toBe(1);
    expect(seen[0]?.error?.message).toBe("exporter bug");
    expect(await exported(m, "throwing-test", "failure")).toBe(1);
  });

  it("rejects what is not a span exporter, or an empty name, with a TypeError", () => {
    expect(() => reportExports({} as SpanExporter, "x")).toThrow(/reportExports\(exporter\) must be an OpenTelemetry SpanExporter/);
    expect(() => reportExports(new InMemorySpanExporter(), "")).toThrow(/name must be a non-empty string/);
    expect(() => reportExports(new InMemorySpanExporter(), 5 as unknown as string)).toThrow(TypeError);
  });
});

async function oneSpan(): Promise<ReadableSpan> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
  provider.getTracer("t").startSpan("one").end();
  await provider.forceFlush();
  const [span] = memory.getFinishedSpans();
  await provider.shutdown();
  return span as ReadableSpan;
}
