/**
 * createLogger and the logging handler on real graphs, with the real OpenTelemetry SDK so lines can be matched to
 * the spans they claim to belong to.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { HumanMessage } from "@langchain/core/messages";
import { MemorySaver } from "@langchain/langgraph";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import type { Logger } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildAgentGraph } from "../bench/tracing-fixtures.js";
import { type InstrumentableGraph, instrument } from "../src/observability/instrument.js";
import { createLogger, createLoggingHandler } from "../src/observability/logging.js";
import { resilient } from "../src/resilience/compose.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => {
  provider.register();
});
afterAll(async () => {
  await provider.shutdown();
});
beforeEach(() => exporter.reset());

type Line = Record<string, unknown> & { level: number; msg: string };

function capture(level: "debug" | "info" = "debug"): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = createLogger({ level, name: "test", destination: { write: (s: string) => void lines.push(JSON.parse(s) as Line) } });
  return { logger, lines };
}

const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

function withHandlers<G extends InstrumentableGraph>(graph: G, logger: Logger, name: string): G {
  return instrument(graph, { tracing: true, logger, name });
}

function spanNamed(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.name === name);
}

describe("createLogger", () => {
  it("writes JSON with trace_id/span_id of the active span, and none outside a span", async () => {
    const { logger, lines } = capture();
    logger.info("outside");
    const tracer = provider.getTracer("t");
    tracer.startActiveSpan("work", (span) => {
      logger.info({ k: 1 }, "inside");
      span.end();
    });
    expect(lines[0]!.trace_id).toBeUndefined();
    const span = spanNamed("work")[0]!;
    expect(lines[1]).toMatchObject({
      msg: "inside",
      k: 1,
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
      trace_flags: "01",
    });
  });

  it("redacts credentials and payloads by default, plus extra paths", () => {
    const lines: Line[] = [];
    const logger = createLogger({
      redact: ["customer.email"],
      destination: { write: (s: string) => void lines.push(JSON.parse(s) as Line) },
    });
    logger.info({
      password: "hunter2",
      headers: { authorization: "Bearer abc" },
      req: { headers: { authorization: "Basic xyz", cookie: "sid=1" } },
      state: { secret: "s" },
      customer: { email: "a@b.c", id: 7 },
    });
    const text = JSON.stringify(lines[0]);
    for (const secret of ["hunter2", "Bearer abc", "Basic xyz", "sid=1", "a@b.c"]) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ password: "[REDACTED]", state: "[REDACTED]", customer: { email: "[REDACTED]", id: 7 } });
  });

  it("rejects bad options with a TypeError naming the option", () => {
    expect(() => createLogger({ level: "loud" as "info" })).toThrow(/level/);
    expect(() => createLogger({ redact: "password" as unknown as string[] })).toThrow(/redact/);
    expect(() => createLoggingHandler({} as Logger, "g")).toThrow(TypeError);
    expect(() => createLoggingHandler(createLogger(), "")).toThrow(/graphName/);
  });
});

describe("logging handler on a real graph", () => {
  it("logs runs and nodes at their levels, each line carrying the ids of its own span", async () => {
    const { logger, lines } = capture("debug");
    const graph = withHandlers(buildAgentGraph().compile(), logger, "support-agent");
    await graph.invoke({ messages: [new HumanMessage("hi")] }, { configurable: { thread_id: "log-ok" } });

    const finished = lines.filter((l) => l.msg === "node finished");
    expect(finished.map((l) => l.node)).toEqual(["prepare", "agent", "tools", "agent", "check", "review", "finish"]);
    for (const line of finished) {
      expect(line.level).toBe(LEVEL.debug);
      expect(line.graph).toBe("support-agent");
      expect(typeof line.duration_ms).toBe("number");
      const spans = spanNamed(String(line.node));
      expect(spans.map((s) => s.spanContext().spanId)).toContain(line.span_id);
    }
    const started = lines.filter((l) => l.msg === "node started");
    expect(started.every((l) => l.level === LEVEL.debug)).toBe(true);
    const run = lines.find((l) => l.msg === "graph run finished")!;
    const root = spanNamed("support-agent")[0]!;
    expect(run).toMatchObject({
      level: LEVEL.info,
      status: "success",
      trace_id: root.spanContext().traceId,
      span_id: root.spanContext().spanId,
    });
    expect(lines.find((l) => l.msg === "graph run started")).toMatchObject({ thread_id: "log-ok" });
    expect(lines.filter((l) => l.msg === "tool finished").map((l) => l.tool)).toEqual(["search"]);
    // One trace: every line written in the run has the root's trace id.
    expect(new Set(lines.map((l) => l.trace_id))).toEqual(new Set([root.spanContext().traceId]));
  });

  it("errors at error level with the error type; interrupts at info; info level hides start lines", async () => {
    const { logger, lines } = capture("info");
    const graph = withHandlers(buildAgentGraph().compile({ checkpointer: new MemorySaver() }), logger, "support-agent");
    await expect(
      graph.invoke({ messages: [new HumanMessage("hi")], mode: "error" }, { configurable: { thread_id: "log-err" } }),
    ).rejects.toThrow();
    const nodeError = lines.find((l) => l.msg === "node failed")!;
    expect(nodeError).toMatchObject({
      level: LEVEL.error,
      node: "finish",
      status: "error",
      error_type: "RangeError",
      error_reason: "programmer_error",
    });
    // The message stays in the process unless the logger opts in (errorMessages).
    expect(JSON.stringify(lines)).not.toContain("finish failed");
    expect(lines.find((l) => l.msg === "graph run failed")).toMatchObject({ level: LEVEL.error, error_type: "RangeError" });
    expect(lines.some((l) => l.level === LEVEL.debug)).toBe(false);

    lines.length = 0;
    await graph.invoke({ messages: [new HumanMessage("hi")], mode: "interrupt" }, { configurable: { thread_id: "log-int" } });
    expect(lines.find((l) => l.msg === "node interrupted")).toMatchObject({ level: LEVEL.info, node: "check", status: "interrupted" });
    expect(lines.find((l) => l.msg === "graph run interrupted")).toMatchObject({ level: LEVEL.info, status: "interrupted" });
    expect(lines.some((l) => l.level >= LEVEL.error)).toBe(false);
  });

  it("logs wrapper events as warnings with the node span's ids, and user lines inside a wrapped node join its span", async () => {
    const { logger, lines } = capture("info");
    let attempt = 0;
    const graph = withHandlers(
      buildAgentGraph(undefined, {
        wrapPrepare: (node) => resilient(node, { retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1, jitter: "none" } }),
        onPrepare: () => {
          attempt++;
          logger.info({ attempt }, "calling upstream");
          if (attempt === 1) throw Object.assign(new Error("unavailable"), { status: 503 });
        },
      }).compile(),
      logger,
      "support-agent",
    );
    await graph.invoke({ messages: [new HumanMessage("hi")] }, { configurable: { thread_id: "log-retry" } });
    const prepare = spanNamed("prepare")[0]!;
    const retry = lines.find((l) => l.msg === "node attempt failed, retrying")!;
    expect(retry).toMatchObject({
      level: LEVEL.warn,
      node: "prepare",
      attempt: 1,
      span_id: prepare.spanContext().spanId,
      error_type: "Error",
    });
    const user = lines.filter((l) => l.msg === "calling upstream");
    expect(user).toHaveLength(2);
    expect(retry).toMatchObject({ error_status: 503, error_reason: "server_error" });
    expect(retry.error_message).toBeUndefined();
    // Every attempt runs in the node span (attempts are events on it, not spans).
    for (const line of user) expect(line.span_id).toBe(prepare.spanContext().spanId);
    for (const line of user) expect(line.trace_id).toBe(prepare.spanContext().traceId);
  });

  it("logs each wrapper event once when the same graph is instrumented twice with one logger", async () => {
    const { logger, lines } = capture("info");
    let attempt = 0;
    const compiled = buildAgentGraph(undefined, {
      wrapPrepare: (node) => resilient(node, { retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1, jitter: "none" } }),
      onPrepare: () => {
        attempt++;
        if (attempt === 1) throw Object.assign(new Error("unavailable"), { status: 503 });
      },
    }).compile();
    const first = withHandlers(compiled, logger, "twice-agent");
    withHandlers(compiled, logger, "twice-agent");
    await first.invoke({ messages: [new HumanMessage("hi")] }, { configurable: { thread_id: "log-twice" } });
    expect(lines.filter((l) => l.msg === "node attempt failed, retrying")).toHaveLength(1);
  });

  it("releases a handler's wrapper-event subscription once the handler is collected", { timeout: 60_000 }, () => {
    const fixture = fileURLToPath(new URL("./fixtures/logging-subscriptions.ts", import.meta.url));
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", fixture], { encoding: "utf8", timeout: 50_000 });
    const report = JSON.parse(out.trim().split("\n").at(-1) as string) as Record<string, boolean>;
    expect(report).toMatchObject({ before: false, whileHeld: true, oneHeld: true, afterDrop: false });
  });
});
