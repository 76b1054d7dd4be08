/**
 * Exporter faults: graph runs traced by `startTelemetry` (real OTLP/HTTP exporter, batch processor) while the
 * collector refuses connections, accepts and never answers, or answers 500. Every run completes with the same
 * result as without telemetry, the metrics count every run, the export failures are reported (OpenTelemetry's global
 * error handler, and `langgraph_trace_export_spans_total{result="failure"}`), and shutdown never rejects.
 */
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { context, propagation, trace } from "@opentelemetry/api";
import { setGlobalErrorHandler } from "@opentelemetry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Counter } from "prom-client";
import { createLogger, createMetrics, instrument, type Metrics, resilient } from "../src/index.js";
import { startTelemetry } from "../src/integrations/otel.js";
import { freePort } from "./support/ports.js";

const RUNS = 150;
const CONCURRENCY = 10;

const State = Annotation.Root({
  n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
  fail: Annotation<boolean>({ reducer: (_a, b) => b, default: () => false }),
});
type S = typeof State.State;

function graphFor(kit: boolean) {
  const builder = new StateGraph(State) as unknown as {
    addNode(name: string, fn: (s: S, config: never) => Promise<Partial<S>>): unknown;
    addEdge(a: string, b: string): unknown;
    compile(): { invoke(input: Partial<S>): Promise<S> };
  };
  const step = async (s: S): Promise<Partial<S>> => {
    if (s.fail && s.n === 2) throw Object.assign(new Error("HTTP 400"), { status: 400 });
    return { n: s.n + 1 };
  };
  for (let i = 0; i < 5; i++)
    builder.addNode(`s${i}`, kit ? resilient(step, { timeout: 5000, retry: { retries: 1, minDelayMs: 1 } }) : step);
  builder.addEdge(START, "s0");
  for (let i = 1; i < 5; i++) builder.addEdge(`s${i - 1}`, `s${i}`);
  builder.addEdge("s4", END);
  return builder.compile();
}

/** Runs the short soak and returns each run's result (`n`) or error message, in run order. */
async function soak(graph: { invoke(input: Partial<S>): Promise<S> }): Promise<Array<number | string>> {
  const results = new Array<number | string>(RUNS);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < RUNS) {
        const i = next++;
        try {
          results[i] = (await graph.invoke({ n: 0, fail: i % 7 === 0 })).n;
        } catch (error) {
          results[i] = (error as Error).message;
        }
      }
    }),
  );
  return results;
}

/** `langgraph_trace_export_spans_total{exporter="otlp", result}`, or NaN when the series does not exist. */
async function exportedSpans(metrics: Metrics, result: string): Promise<number> {
  const { values } = await (metrics.registry.getSingleMetric("langgraph_trace_export_spans_total") as Counter).get();
  const found = values.find((v) => v.labels.exporter === "otlp" && v.labels.result === result);
  return found === undefined ? Number.NaN : found.value;
}

type Collector = { url: string; close(): Promise<void> };

async function refusing(): Promise<Collector> {
  // A port that was free a moment ago, with nothing listening on it.
  const port = await freePort();
  return { url: `http://127.0.0.1:${port}/v1/traces`, close: async () => undefined };
}

async function serving(handler: Parameters<typeof createServer>[1]): Promise<Collector> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(handler);
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const collectors: Record<string, () => Promise<Collector>> = {
  "refuses connections": refusing,
  // Reads the request and never answers.
  "accepts and never answers": () => serving((req) => req.resume()),
  "answers 500": () =>
    serving((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("collector down");
      });
    }),
};

let baseline: Array<number | string>;
const exportErrors: unknown[] = [];
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  // Export often and give up quickly, so failures happen within the short soak.
  for (const [k, v] of Object.entries({
    OTEL_BSP_SCHEDULE_DELAY: "20",
    OTEL_BSP_EXPORT_TIMEOUT: "400",
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "64",
  })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  baseline = await soak(graphFor(false));
});

afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe("a broken collector never breaks or changes graph runs", () => {
  for (const [name, open] of Object.entries(collectors)) {
    it(`collector ${name}: same results, every run counted, export failures reported, clean shutdown`, async () => {
      const collector = await open();
      exportErrors.length = 0;
      setGlobalErrorHandler((error) => exportErrors.push(error));
      const telemetry = startTelemetry({
        serviceName: "exporter-faults",
        otlp: { url: collector.url, timeoutMillis: 300 },
        langfuse: false,
      });
      try {
        const metrics = createMetrics();
        const logger = createLogger({ level: "info", destination: { write: () => undefined } });
        const graph = instrument(graphFor(true) as never, { metrics, tracing: true, logger, name: "faults" }) as ReturnType<
          typeof graphFor
        >;
        const results = await soak(graph);
        expect(results).toEqual(baseline);
        const failed = baseline.filter((r) => typeof r === "string").length;
        expect(failed).toBeGreaterThan(0);
        const runs = (await metrics.registry.getSingleMetricAsString("langgraph_graph_runs_total"))
          .split("\n")
          .filter((l) => !l.startsWith("#") && l !== "");
        const count = (status: string) =>
          Number(
            runs
              .find((l) => l.includes(`status="${status}"`))
              ?.split(" ")
              .at(-1) ?? 0,
          );
        expect(count("success")).toBe(RUNS - failed);
        expect(count("error")).toBe(failed);
        await telemetry.forceFlush();
        // The failed exports reached OpenTelemetry's error handler: the signal an operator can count.
        await new Promise((r) => setTimeout(r, 700));
        expect(exportErrors.length).toBeGreaterThan(0);
        // And the kit's own counter, on the same registry as the graph's series.
        expect(await exportedSpans(metrics, "failure")).toBeGreaterThan(0);
        expect(await exportedSpans(metrics, "success")).toBe(0);
        metrics.close();
      } finally {
        await expect(telemetry.shutdown()).resolves.toBeUndefined();
        setGlobalErrorHandler(() => undefined);
        trace.disable();
        context.disable();
        propagation.disable();
        await collector.close();
      }
    }, 60_000);
  }
});
