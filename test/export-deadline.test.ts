/**
 * Export deadlines: a collector that answers 200 and then trickles its body (one byte every 2 s) fails each export
 * at its deadline, and those spans count as failures in `langgraph_trace_export_spans_total`; `shutdown()` returns
 * within its bound and the process exits by itself. Real `startTelemetry`, OTLP/HTTP exporter and graph, in a child
 * process; `reportExports` keeps the same deadline for a user's own exporter.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { ExportResult } from "@opentelemetry/core";
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { Counter } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportExports, startTelemetry } from "../src/integrations/otel.js";
import { createMetrics, type Metrics } from "../src/observability/metrics.js";

const CHILD = fileURLToPath(new URL("./fixtures/telemetry-child.ts", import.meta.url));
const EXPORT_TIMEOUT_MS = 1500;
const SHUTDOWN_TIMEOUT_MS = 1000;

/** A collector that reads the request, answers 200 and sends its body one byte every 2 s, forever. */
async function tricklingCollector(): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setInterval>>();
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests += 1;
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("{");
      const timer = setInterval(() => res.write(" "), 2000);
      timers.add(timer);
      res.on("close", () => {
        clearInterval(timer);
        timers.delete(timer);
      });
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

interface ChildReport {
  flushMs: number;
  shutdownMs: number;
  failedAfterFlush: number;
  spansBeforeShutdown: number;
  spans: number;
  failure: number;
  success: number;
}

describe("startTelemetry against a collector that trickles its answer", () => {
  let collector: Awaited<ReturnType<typeof tricklingCollector>>;
  beforeAll(async () => {
    collector = await tricklingCollector();
  });
  afterAll(async () => {
    await collector.close();
  });

  it("fails each export at its deadline, counts the spans as failed, bounds shutdown, and the child exits by itself", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
      env: {
        ...process.env,
        COLLECTOR_URL: collector.url,
        EXPORT_TIMEOUT_MS: String(EXPORT_TIMEOUT_MS),
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let reportedAt = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (reportedAt === 0 && stdout.includes("\n")) reportedAt = performance.now();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exit = await new Promise<{ code: number | null; signal: string | null; exitedAt: number }>((resolve) => {
      // Generous: a cold start loads LangGraph and the OpenTelemetry SDK under tsx on a shared machine.
      const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.once("exit", (code, signal) => {
        clearTimeout(killer);
        resolve({ code, signal, exitedAt: performance.now() });
      });
    });
    expect(exit.signal, stderr).toBeNull();
    expect(exit.code, stderr).toBe(0);
    const report = JSON.parse(stdout.trim()) as ChildReport;
    console.info("export-deadline child:", JSON.stringify(report), `exited ${Math.round(exit.exitedAt - reportedAt)} ms after its report`);
    // The collector did receive the batches: the exports failed on the slow answer, not on a refused connection.
    expect(collector.requests()).toBeGreaterThanOrEqual(2);
    // The flush ended at the export deadline, not at the batch processor's 30 s timeout.
    expect(report.flushMs).toBeGreaterThanOrEqual(EXPORT_TIMEOUT_MS - 100);
    expect(report.flushMs).toBeLessThan(EXPORT_TIMEOUT_MS + 3000);
    expect(report.spansBeforeShutdown).toBeGreaterThan(0);
    expect(report.failedAfterFlush).toBe(report.spansBeforeShutdown);
    // shutdown() cut the trickling export at its bound (shorter than the export deadline here).
    expect(report.shutdownMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 1000);
    // Every span the kit created was counted, all as failures.
    expect(report.spans).toBeGreaterThan(report.spansBeforeShutdown);
    expect(report.failure).toBe(report.spans);
    expect(report.success).toBe(0);
    // Nothing kept the process alive once shutdown returned (the collector is still trickling at it).
    expect(exit.exitedAt - reportedAt).toBeLessThan(3000);
  }, 90_000);
});

/** A user's exporter whose destination never answers: it never calls back. */
class SilentExporter implements SpanExporter {
  calls = 0;
  export(_spans: ReadableSpan[], _done: (result: ExportResult) => void): void {
    this.calls += 1;
  }
  async shutdown(): Promise<void> {}
}

describe("reportExports deadline", () => {
  const opened: Metrics[] = [];
  afterAll(() => {
    for (const m of opened) m.close();
  });
  const count = async (m: Metrics, exporter: string, result: string) => {
    const { values } = await (m.registry.getSingleMetric("langgraph_trace_export_spans_total") as Counter).get();
    return values.find((v) => v.labels.exporter === exporter && v.labels.result === result)?.value ?? Number.NaN;
  };

  it("fails an export its exporter never answers at timeoutMs, and ignores nothing else", async () => {
    const metrics = createMetrics();
    opened.push(metrics);
    const inner = new SilentExporter();
    const wrapped = reportExports(inner, "silent-test", { timeoutMs: 200 });
    const results: ExportResult[] = [];
    const provider = new BasicTracerProvider({
      spanProcessors: [new BatchSpanProcessor(wrapped, { scheduledDelayMillis: 60_000, exportTimeoutMillis: 30_000 })],
    });
    const tracer = provider.getTracer("deadline-test");
    for (let i = 0; i < 3; i++) tracer.startSpan(`s${i}`).end();
    const t = performance.now();
    // The batch processor passes the failure on as a rejection; the counter is what this test reads.
    await provider.forceFlush().catch(() => undefined);
    const elapsed = performance.now() - t;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(5000);
    expect(inner.calls).toBe(1);
    expect(await count(metrics, "silent-test", "failure")).toBe(3);
    expect(await count(metrics, "silent-test", "success")).toBe(0);
    // A direct export reports the deadline in its error.
    await new Promise<void>((resolve) => {
      wrapped.export([], (r) => {
        results.push(r);
        resolve();
      });
    });
    expect(results[0]?.code).toBe(1);
    expect(String(results[0]?.error)).toContain("timed out after 200 ms");
    await provider.shutdown();
  });

  it("an aborted signal fails the exports in flight at once and the later ones without calling the exporter", async () => {
    const metrics = createMetrics();
    opened.push(metrics);
    const inner = new SilentExporter();
    const controller = new AbortController();
    const wrapped = reportExports(inner, "aborted-test", { timeoutMs: 60_000, signal: controller.signal });
    const first = new Promise<ExportResult>((resolve) => wrapped.export([{} as ReadableSpan, {} as ReadableSpan], resolve));
    controller.abort();
    expect((await first).code).toBe(1);
    const second = await new Promise<ExportResult>((resolve) => wrapped.export([{} as ReadableSpan], resolve));
    expect(second.code).toBe(1);
    expect(inner.calls).toBe(1);
    expect(await count(metrics, "aborted-test", "failure")).toBe(3);
    // Shutting down after the abort does not wait on the exporter.
    await expect(wrapped.shutdown()).resolves.toBeUndefined();
  });

  it("rejects bad options with a TypeError naming them", () => {
    expect(() => reportExports(new SilentExporter(), "x", { timeoutMs: 0 })).toThrow(/timeoutMs must be an integer >= 1/);
    expect(() => reportExports(new SilentExporter(), "x", { signal: {} as AbortSignal })).toThrow(/signal must be an AbortSignal/);
    expect(() => reportExports(new SilentExporter(), "x", { timeout: 5 } as never)).toThrow(/unknown option "timeout"/);
    expect(() => startTelemetry({ otlp: false, langfuse: false, exportTimeoutMs: 0 })).toThrow(
      /startTelemetry\(options\)\.exportTimeoutMs must be an integer >= 1/,
    );
    expect(() => startTelemetry({ otlp: false, langfuse: false, shutdownTimeoutMs: 1.5 })).toThrow(
      /startTelemetry\(options\)\.shutdownTimeoutMs must be an integer >= 1/,
    );
  });
});
