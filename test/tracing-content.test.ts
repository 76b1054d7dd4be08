/**
 * Message content: never exported by default (a canary secret in the state and the prompt reaches no exported span
 * and no log line), and when capture is on, every content attribute is masked and capped.
 */
import { HumanMessage } from "@langchain/core/messages";
import { Command, MemorySaver } from "@langchain/langgraph";
import type { Logger } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAgentGraph, FAKE_MODEL } from "../bench/tracing-fixtures.js";
import { startTelemetry, type Telemetry } from "../src/integrations/otel.js";
import { type InstrumentableGraph, instrument } from "../src/observability/instrument.js";
import { createLogger } from "../src/observability/logging.js";
import { defaultMask } from "../src/observability/tracing/content.js";
import { createTracingHandler, type TracingOptions } from "../src/observability/tracing/handler.js";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./support/otlp-receiver.js";

const CANARY = "CANARY-7f3a9c41e2";
const LANGFUSE_PATH = "/api/public/otel/v1/traces";

let collector: OtlpReceiver;
let langfuse: OtlpReceiver;
let telemetry: Telemetry;

beforeAll(async () => {
  collector = await startOtlpReceiver();
  langfuse = await startOtlpReceiver({ path: LANGFUSE_PATH });
  telemetry = startTelemetry({
    serviceName: "content-test",
    otlp: { url: collector.url },
    langfuse: { publicKey: "pk-lf-1", secretKey: "sk-lf-1", baseUrl: langfuse.origin },
  });
});
afterAll(async () => {
  await telemetry?.shutdown();
  await collector?.close();
  await langfuse?.close();
});

function traced<G extends InstrumentableGraph>(graph: G, name: string, options: TracingOptions | true, logger?: Logger): G {
  return instrument(graph, { tracing: options, name, ...(logger ? { logger } : {}) });
}

async function spansOfThread(thread: string): Promise<ReceivedSpan[]> {
  await telemetry.forceFlush();
  const all = await collector.waitFor((spans) =>
    spans.some((s) => s.parentSpanId === "" && s.attributes["gen_ai.conversation.id"] === thread),
  );
  const roots = all.filter((s) => s.parentSpanId === "" && s.attributes["gen_ai.conversation.id"] === thread);
  const traces = new Set(roots.map((r) => r.traceId));
  return all.filter((s) => traces.has(s.traceId));
}

describe("default configuration", () => {
  it("a canary secret in the state and the prompt reaches no exported span (OTLP or Langfuse) and no log line", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "trace", destination: { write: (s: string) => void lines.push(s) } });
    const graph = traced(buildAgentGraph().compile({ checkpointer: new MemorySaver() }), "canary", true, logger);
    const input = { messages: [new HumanMessage(`my password is ${CANARY}`)], secret: CANARY };
    await graph.invoke(input, { configurable: { thread_id: "canary-ok" } });
    await graph.invoke({ ...input, mode: "interrupt" }, { configurable: { thread_id: "canary-int" } });
    await graph.invoke(new Command({ resume: true }), { configurable: { thread_id: "canary-int" } });
    await expect(graph.invoke({ ...input, mode: "error" }, { configurable: { thread_id: "canary-err" } })).rejects.toThrow();

    const spans = [...(await spansOfThread("canary-ok")), ...(await spansOfThread("canary-int")), ...(await spansOfThread("canary-err"))];
    expect(spans.length).toBeGreaterThan(20);
    await langfuse.waitFor((s) => s.some((x) => x.attributes["gen_ai.conversation.id"] === "canary-err"));
    // Raw request bodies, so no attribute, event or resource field can hide it.
    const bodies = [...collector.requests, ...langfuse.requests].map((r) => r.body);
    expect(bodies.length).toBeGreaterThan(1);
    for (const body of bodies) expect(body).not.toContain(CANARY);
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) expect(line).not.toContain(CANARY);
  });
});

describe("content capture", () => {
  it("when enabled, inputs, outputs, messages and tool calls are recorded through mask and length cap", async () => {
    const masked: string[] = [];
    const graph = traced(buildAgentGraph().compile(), "content-on", {
      captureContent: true,
      maxContentLength: 400,
      mask: (value, attribute) => {
        masked.push(attribute);
        return value.replaceAll(CANARY, "[MASKED]");
      },
    });
    await graph.invoke(
      { messages: [new HumanMessage(`weather for ${CANARY}?`)], secret: CANARY },
      { configurable: { thread_id: "content-on" } },
    );
    const spans = await spansOfThread("content-on");
    const root = spans.find((s) => s.parentSpanId === "")!;
    const rootInput = String(root.attributes["langfuse.observation.input"]);
    expect(rootInput).toContain("[MASKED]");
    expect(String(root.attributes["langfuse.observation.output"])).toContain("It is sunny.");

    const chats = spans.filter((s) => s.name === `chat ${FAKE_MODEL}`);
    const firstInput = JSON.parse(String(chats[0]!.attributes["gen_ai.input.messages"])) as {
      role: string;
      parts: { type: string; content?: string }[];
    }[];
    expect(firstInput).toEqual([{ role: "user", parts: [{ type: "text", content: "weather for [MASKED]?" }] }]);
    const lastOutput = chats.map((c) => String(c.attributes["gen_ai.output.messages"])).find((o) => o.includes("sunny"))!;
    expect(JSON.parse(lastOutput)).toEqual([{ role: "assistant", parts: [{ type: "text", content: "It is sunny." }] }]);
    const firstOutput = JSON.parse(String(chats[0]!.attributes["gen_ai.output.messages"])) as {
      parts: { type: string; name?: string }[];
    }[];
    expect(firstOutput[0]!.parts).toEqual([{ type: "tool_call", id: "call-1", name: "search", arguments: { query: "weather" } }]);

    const tool = spans.find((s) => s.name === "execute_tool search")!;
    expect(JSON.parse(String(tool.attributes["gen_ai.tool.call.arguments"]))).toEqual({ query: "weather" });
    expect(tool.attributes["gen_ai.tool.call.result"]).toBe("results for weather: sunny");

    // Every content attribute went through mask; none is longer than the cap plus its marker.
    expect(new Set(masked)).toEqual(
      new Set([
        "langfuse.observation.input",
        "langfuse.observation.output",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
      ]),
    );
    for (const s of spans) {
      for (const [key, value] of Object.entries(s.attributes)) {
        if (typeof value === "string") expect(value, key).not.toContain(CANARY);
        if (typeof value === "string" && /input|output|arguments|result/.test(key))
          expect(value.length).toBeLessThanOrEqual(400 + "…[truncated]".length);
      }
    }
    expect(spans.some((s) => Object.values(s.attributes).some((v) => typeof v === "string" && v.endsWith("…[truncated]")))).toBe(true);
  });

  it("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true turns capture on; the default mask redacts API keys", async () => {
    process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = "true";
    let handler: ReturnType<typeof createTracingHandler>;
    try {
      handler = createTracingHandler("content-env", true);
    } finally {
      delete process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT;
    }
    const graph = buildAgentGraph()
      .compile()
      .withConfig({ callbacks: [handler] });
    await graph.invoke(
      { messages: [new HumanMessage("use key sk-proj-abcdefghijklmnop please")] },
      { configurable: { thread_id: "content-env" } },
    );
    const spans = await spansOfThread("content-env");
    const chat = spans.find((s) => s.name === `chat ${FAKE_MODEL}`)!;
    expect(String(chat.attributes["gen_ai.input.messages"])).toContain("use key [REDACTED] please");
    for (const s of spans) expect(JSON.stringify(s.attributes)).not.toContain("sk-proj-abcdefghijklmnop");
  });

  it("a throwing mask drops the content instead of exporting it", async () => {
    const graph = traced(buildAgentGraph().compile(), "content-throw", {
      captureContent: true,
      mask: () => {
        throw new Error("mask bug");
      },
    });
    await graph.invoke({ messages: [new HumanMessage(CANARY)] }, { configurable: { thread_id: "content-throw" } });
    const spans = await spansOfThread("content-throw");
    const chat = spans.find((s) => s.name === `chat ${FAKE_MODEL}`)!;
    expect(chat.attributes["gen_ai.input.messages"]).toBe("[masked]");
    for (const s of spans) expect(JSON.stringify(s.attributes)).not.toContain(CANARY);
  });

  it("defaultMask redacts provider keys, bearer tokens, JWTs and AWS key ids", () => {
    const text = "a sk-ant-api03-abcdefgh1234 b Bearer abc.def.ghi12345 c eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl d AKIAABCDEFGHIJKLMNOP e";
    expect(defaultMask(text)).toBe("a [REDACTED] b [REDACTED] c [REDACTED] d [REDACTED] e");
  });
});

describe("option validation", () => {
  it("bad tracing options throw a TypeError naming the option", () => {
    expect(() => createTracingHandler("", true)).toThrow(/graphName/);
    expect(() => createTracingHandler("g", { maxContentLength: -1 })).toThrow(/tracing\.maxContentLength/);
    expect(() => createTracingHandler("g", { captureContent: "yes" as unknown as boolean })).toThrow(/tracing\.captureContent/);
    expect(() => createTracingHandler("g", { mask: "x" as unknown as () => string })).toThrow(/tracing\.mask/);
    expect(() => createTracingHandler("g", { kind: "bot" as "agent" })).toThrow(/tracing\.kind/);
    expect(() => createTracingHandler("g", { userId: 5 as unknown as string })).toThrow(/tracing\.userId/);
    expect(() => createTracingHandler("g", { tags: ["a", 1 as unknown as string] })).toThrow(/tracing\.tags/);
    expect(() => createTracingHandler("g", { abandonAfterMs: 10 })).toThrow(/tracing\.abandonAfterMs/);
    expect(() => createTracingHandler("g", { tracer: {} as never })).toThrow(/tracing\.tracer/);
  });

  it("bad startTelemetry options throw a TypeError naming the option", () => {
    expect(() => startTelemetry({ sampleRatio: 2 })).toThrow(/sampleRatio/);
    expect(() => startTelemetry({ otlp: { url: "collector:4318" } })).toThrow(/otlp\.url/);
    expect(() => startTelemetry({ otlp: { timeoutMillis: 0 } })).toThrow(/otlp\.timeoutMillis/);
    expect(() => startTelemetry({ langfuse: { baseUrl: "nope" } })).toThrow(/langfuse\.baseUrl/);
    expect(() => startTelemetry({ serviceName: "" })).toThrow(/serviceName/);
  });
});
