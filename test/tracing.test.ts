/**
 * Real graphs (scripted chat model with usage, a real tool, a subgraph, an interrupt, an error, resilience wrappers)
 * traced through the real OpenTelemetry SDK and OTLP/HTTP exporters into two receivers on 127.0.0.1: one plays an
 * OTLP collector, the other Langfuse's OTLP endpoint.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { HumanMessage } from "@langchain/core/messages";
import { Annotation, Command, END, interrupt, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAgentGraph, FAKE_MODEL } from "../bench/tracing-fixtures.js";
import { startTelemetry, type Telemetry } from "../src/integrations/otel.js";
import { type InstrumentableGraph, instrument, instrumentWithCallbacks } from "../src/observability/instrument.js";
import { withNodeContext } from "../src/observability/tracing/bridge.js";
import type { TracingOptions } from "../src/observability/tracing/handler.js";
import { openRunCount } from "../src/observability/tracing/registry.js";
import { createCircuitBreaker } from "../src/resilience/circuit-breaker.js";
import { resilient } from "../src/resilience/compose.js";
import { runOnce } from "../src/resilience/idempotency.js";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./support/otlp-receiver.js";

const LANGFUSE_PATH = "/api/public/otel/v1/traces";
const PK = "pk-lf-test-public";
const SK = "sk-lf-test-secret";

let collector: OtlpReceiver;
let langfuse: OtlpReceiver;
let telemetry: Telemetry;
let echo: Server;
let echoUrl: string;
const echoHeaders: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  collector = await startOtlpReceiver();
  langfuse = await startOtlpReceiver({ path: LANGFUSE_PATH });
  telemetry = startTelemetry({
    serviceName: "tracing-test",
    serviceVersion: "1.2.3",
    environment: "test",
    otlp: { url: collector.url },
    langfuse: { publicKey: PK, secretKey: SK, baseUrl: langfuse.origin },
  });
  echo = createServer((req, res) => {
    echoHeaders.push(req.headers);
    res.end("ok");
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/echo`;
});

afterAll(async () => {
  await telemetry?.shutdown();
  await collector?.close();
  await langfuse?.close();
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
});

/** The public way in: `instrument(graph, { tracing, name })`. */
function traced<G extends InstrumentableGraph>(graph: G, name: string, options: TracingOptions | true = true): G {
  return instrument(graph, { tracing: options, name });
}

/** Flushes, then returns the spans of the trace whose root span is called `rootName` and carries `thread`. */
async function traceOf(receiver: OtlpReceiver, rootName: string, thread: string): Promise<ReceivedSpan[]> {
  await telemetry.forceFlush();
  const all = await receiver.waitFor((spans) =>
    spans.some((s) => s.name === rootName && s.parentSpanId === "" && s.attributes["langgraph.thread_id"] === thread),
  );
  const root = all.find((s) => s.name === rootName && s.parentSpanId === "" && s.attributes["langgraph.thread_id"] === thread)!;
  return all.filter((s) => s.traceId === root.traceId);
}

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan[] {
  return spans.filter((s) => s.name === name);
}
function one(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = byName(spans, name);
  expect(found, `exactly one span "${name}"`).toHaveLength(1);
  return found[0]!;
}
function childrenOf(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((s) => s.parentSpanId === parent.spanId).sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
}
function isDescendant(spans: ReceivedSpan[], span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (let p = byId.get(span.parentSpanId); p !== undefined; p = byId.get(p.parentSpanId)) if (p.spanId === ancestor.spanId) return true;
  return false;
}

const KIND = { internal: 1, client: 3 } as const;
const STATUS = { unset: 0, error: 2 } as const;

describe("span tree of a real agent graph over OTLP/HTTP", () => {
  it("root → nodes → chat/tool spans, subgraph nested under its node, GenAI and Langfuse attributes", async () => {
    const graph = traced(buildAgentGraph().compile({ checkpointer: new MemorySaver() }), "support-agent", {
      userId: (md) => (typeof md.user_id === "string" ? md.user_id : undefined),
      tags: ["prod", "support"],
    });
    const result = await graph.invoke(
      { messages: [new HumanMessage("weather?")] },
      { configurable: { thread_id: "thread-ok" }, metadata: { user_id: "user-7" } },
    );
    expect(result.messages.at(-1)?.content).toBe("It is sunny.");

    const spans = await traceOf(collector, "support-agent", "thread-ok");
    const names = spans.map((s) => s.name).sort();
    expect(names).toEqual(
      [
        "support-agent",
        "prepare",
        "agent",
        "agent",
        `chat ${FAKE_MODEL}`,
        `chat ${FAKE_MODEL}`,
        "tools",
        "execute_tool search",
        "review",
        "check",
        "finish",
      ].sort(),
    );
    // Nothing for LangGraph internals.
    for (const s of spans) expect(s.name).not.toMatch(/__start__|RunnableLambda|ChannelWrite|RunnableSequence|toolsCondition|LangGraph/);

    const root = one(spans, "support-agent");
    expect(root.parentSpanId).toBe("");
    expect(root.kind).toBe(KIND.internal);
    expect(root.statusCode).toBe(STATUS.unset);
    expect(root.scope).toBe("langgraph-ops");
    expect(root.resource).toMatchObject({
      "service.name": "tracing-test",
      "service.version": "1.2.3",
      "deployment.environment.name": "test",
    });
    expect(root.attributes).toMatchObject({
      "gen_ai.operation.name": "invoke_workflow",
      "gen_ai.workflow.name": "support-agent",
      "gen_ai.conversation.id": "thread-ok",
      "langfuse.session.id": "thread-ok",
      "langgraph.thread_id": "thread-ok",
      "user.id": "user-7",
      "langfuse.user.id": "user-7",
      "langfuse.trace.name": "support-agent",
      "langfuse.trace.tags": ["prod", "support"],
      "langfuse.observation.type": "chain",
      "langgraph.run.status": "success",
    });

    // Node spans: direct children of the root, in execution order, one per node run.
    expect(childrenOf(spans, root).map((s) => s.name)).toEqual(["prepare", "agent", "tools", "agent", "review", "finish"]);
    const agents = byName(spans, "agent").sort((a, b) => Number(a.attributes["langgraph.step"]) - Number(b.attributes["langgraph.step"]));
    expect(agents[0]!.attributes).toMatchObject({
      "langfuse.observation.type": "chain",
      "langgraph.node": "agent",
      "langgraph.step": 2,
      "langgraph.triggers": ["branch:to:agent"],
      "gen_ai.conversation.id": "thread-ok",
      "gen_ai.workflow.name": "support-agent",
    });
    expect(agents[0]!.attributes["langgraph.path"]).toEqual(["__pregel_pull", "agent"]);

    // LLM spans: CLIENT, under their node, GenAI usage and Langfuse generation keys.
    for (const agent of agents) {
      const chats = childrenOf(spans, agent);
      expect(chats.map((s) => s.name)).toEqual([`chat ${FAKE_MODEL}`]);
      const chat = chats[0]!;
      expect(chat.kind).toBe(KIND.client);
      expect(chat.attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": FAKE_MODEL,
        "gen_ai.response.model": `${FAKE_MODEL}-2024-07-18`,
        "gen_ai.request.temperature": 0,
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.usage.cache_read.input_tokens": 2,
        "langfuse.observation.type": "generation",
      });
      expect(JSON.parse(String(chat.attributes["langfuse.observation.usage_details"]))).toEqual({
        input: 10,
        input_cache_read: 2,
        output: 5,
        total: 17,
      });
      expect(chat.startNs >= agent.startNs && chat.endNs <= agent.endNs).toBe(true);
    }
    expect(byName(spans, `chat ${FAKE_MODEL}`).map((s) => s.attributes["gen_ai.response.finish_reasons"])).toEqual(
      expect.arrayContaining([["tool_calls"], ["stop"]]),
    );

    // Tool span under the ToolNode's node span, with the model's tool call id.
    const tool = one(spans, "execute_tool search");
    expect(tool.parentSpanId).toBe(one(spans, "tools").spanId);
    expect(tool.kind).toBe(KIND.internal);
    expect(tool.attributes).toMatchObject({
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": "search",
      "gen_ai.tool.call.id": "call-1",
      "gen_ai.tool.type": "function",
      "langfuse.observation.type": "tool",
    });

    // Subgraph: its node nests under the parent graph's node that runs it.
    expect(one(spans, "check").parentSpanId).toBe(one(spans, "review").spanId);

    // Content is off by default.
    for (const s of spans) {
      for (const key of [
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "langfuse.observation.input",
        "langfuse.observation.output",
        "gen_ai.tool.call.arguments",
      ]) {
        expect(s.attributes[key]).toBeUndefined();
      }
    }
    expect(openRunCount()).toBe(0);
  });

  it("exports every span to the Langfuse endpoint with Basic auth and Langfuse/GenAI attributes", async () => {
    const graph = traced(buildAgentGraph().compile({ checkpointer: new MemorySaver() }), "support-agent");
    await graph.invoke({ messages: [new HumanMessage("weather?")] }, { configurable: { thread_id: "thread-lf" } });
    const viaOtlp = await traceOf(collector, "support-agent", "thread-lf");
    const viaLangfuse = await traceOf(langfuse, "support-agent", "thread-lf");
    // Langfuse's default span filter would drop node spans; every kit span must get through.
    expect(viaLangfuse.map((s) => s.spanId).sort()).toEqual(viaOtlp.map((s) => s.spanId).sort());

    const request = langfuse.requests.find((r) => r.path === LANGFUSE_PATH && r.spans.some((s) => s.traceId === viaLangfuse[0]!.traceId))!;
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from(`${PK}:${SK}`).toString("base64")}`);
    expect(request.headers["x-langfuse-ingestion-version"]).toBe("4");
    expect(String(request.headers["content-type"])).toContain("json");

    const types = new Map(viaLangfuse.map((s) => [s.name, s.attributes["langfuse.observation.type"]]));
    expect(types.get("support-agent")).toBe("chain");
    expect(types.get("agent")).toBe("chain");
    expect(types.get(`chat ${FAKE_MODEL}`)).toBe("generation");
    expect(types.get("execute_tool search")).toBe("tool");
    for (const s of viaLangfuse) {
      expect(s.attributes["gen_ai.conversation.id"]).toBe("thread-lf");
      expect(s.attributes["langfuse.session.id"]).toBe("thread-lf");
    }
    const chat = byName(viaLangfuse, `chat ${FAKE_MODEL}`)[0]!;
    expect(chat.attributes["gen_ai.request.model"]).toBe(FAKE_MODEL);
    expect(chat.attributes["gen_ai.usage.input_tokens"]).toBe(12);
  });

  it("an interrupt is not an error: status unset and a langgraph.interrupt event; the resume is a new trace", async () => {
    const graph = traced(buildAgentGraph().compile({ checkpointer: new MemorySaver() }), "support-agent");
    const config = { configurable: { thread_id: "thread-interrupt" } };
    const paused = await graph.invoke({ messages: [new HumanMessage("weather?")], mode: "interrupt" }, config);
    expect((paused as { __interrupt__?: unknown[] }).__interrupt__).toHaveLength(1);
    const spans = await traceOf(collector, "support-agent", "thread-interrupt");
    for (const s of spans) expect(s.statusCode, s.name).toBe(STATUS.unset);
    for (const s of spans) expect(s.attributes["error.type"], s.name).toBeUndefined();
    const check = one(spans, "check");
    expect(check.events.map((e) => e.name)).toEqual(["langgraph.interrupt"]);
    expect(one(spans, "review").events.map((e) => e.name)).toEqual(["langgraph.interrupt"]);
    const root = one(spans, "support-agent");
    expect(root.events.map((e) => e.name)).toContain("langgraph.interrupt");
    expect(root.attributes["langgraph.run.status"]).toBe("interrupted");
    expect(byName(spans, "finish")).toHaveLength(0);

    await graph.invoke(new Command({ resume: true }), config);
    await telemetry.forceFlush();
    const roots = await collector.waitFor(
      (all) => all.filter((s) => s.name === "support-agent" && s.attributes["langgraph.thread_id"] === "thread-interrupt").length === 2,
    );
    const resumed = roots.find(
      (s) => s.name === "support-agent" && s.attributes["langgraph.thread_id"] === "thread-interrupt" && s.traceId !== root.traceId,
    )!;
    expect(resumed.attributes["langgraph.run.status"]).toBe("success");
    // The resume links back to the run it continues.
    expect(resumed.links).toEqual([{ traceId: root.traceId, spanId: root.spanId, attributes: { "langgraph.link.type": "resumes" } }]);
    expect(root.links).toEqual([]);
    expect(collector.spans().some((s) => s.traceId === resumed.traceId && s.name === "finish")).toBe(true);
    expect(openRunCount()).toBe(0);
  });

  it("streamed LLM calls (streamMode messages) record time to first chunk and the usage of the last chunk", async () => {
    const graph = traced(buildAgentGraph().compile(), "support-agent");
    let chunks = 0;
    for await (const _chunk of await graph.stream(
      { messages: [new HumanMessage("weather?")] },
      { configurable: { thread_id: "thread-stream" }, streamMode: "messages" },
    )) {
      chunks++;
    }
    expect(chunks).toBeGreaterThan(2);
    const spans = await traceOf(collector, "support-agent", "thread-stream");
    const chats = byName(spans, `chat ${FAKE_MODEL}`);
    expect(chats).toHaveLength(2);
    for (const chat of chats) {
      expect(chat.attributes["gen_ai.request.stream"]).toBe(true);
      const ttfc = Number(chat.attributes["gen_ai.response.time_to_first_chunk"]);
      expect(ttfc).toBeGreaterThanOrEqual(0);
      expect(ttfc * 1e9).toBeLessThanOrEqual(Number(chat.endNs - chat.startNs));
      const first = Date.parse(String(chat.attributes["langfuse.observation.completion_start_time"]));
      expect(BigInt(first) * 1_000_000n + 1_000_000n).toBeGreaterThanOrEqual(chat.startNs);
      expect(chat.attributes["gen_ai.usage.output_tokens"]).toBe(5);
    }
  });

  it("a stream the caller cancels ends the run's spans as cancelled", async () => {
    const graph = traced(buildAgentGraph().compile(), "support-agent");
    const stream = await graph.stream({ messages: [new HumanMessage("weather?")] }, { configurable: { thread_id: "thread-cancel" } });
    const reader = stream[Symbol.asyncIterator]();
    await reader.next();
    await stream.cancel();
    for (let i = 0; i < 200 && openRunCount() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(openRunCount()).toBe(0);
    const spans = await traceOf(collector, "support-agent", "thread-cancel");
    const root = one(spans, "support-agent");
    expect(root.attributes["langgraph.run.status"]).toBe("cancelled");
    expect(root.statusCode).toBe(STATUS.unset);
    expect(byName(spans, "finish")).toHaveLength(0);
  });

  it("an error: status ERROR, an exception event without the message and a low-cardinality error.type on the node and the root", async () => {
    const graph = traced(buildAgentGraph().compile(), "support-agent");
    await expect(
      graph.invoke({ messages: [new HumanMessage("weather?")], mode: "error" }, { configurable: { thread_id: "thread-error" } }),
    ).rejects.toThrow("finish failed");
    const spans = await traceOf(collector, "support-agent", "thread-error");
    const finish = one(spans, "finish");
    expect(finish.statusCode).toBe(STATUS.error);
    expect(finish.attributes["error.type"]).toBe("RangeError");
    const exception = finish.events.find((e) => e.name === "exception")!;
    expect(exception.attributes["exception.type"]).toBe("RangeError");
    expect(exception.attributes["exception.message"]).toBeUndefined();
    // The frames stay; the first line names the type only.
    const stack = String(exception.attributes["exception.stacktrace"]).split("\n");
    expect(stack[0]).toBe("RangeError");
    expect(stack.length).toBeGreaterThan(1);
    for (const line of stack.slice(1)) expect(line).toMatch(/^\s*at /);
    expect(finish.attributes["langgraph.error.reason"]).toBe("programmer_error");
    expect(JSON.stringify([finish.attributes, finish.events, finish.statusMessage])).not.toContain("finish failed");
    const root = one(spans, "support-agent");
    expect(root.statusCode).toBe(STATUS.error);
    expect(root.attributes).toMatchObject({ "error.type": "RangeError", "langgraph.run.status": "error" });
    for (const name of ["prepare", "agent", "tools", "review", "check"])
      for (const s of byName(spans, name)) expect(s.statusCode).toBe(STATUS.unset);
    expect(openRunCount()).toBe(0);
  });
});

describe("resilience wrappers and the node context", () => {
  it("spans started inside a wrapped node nest under its span; retries are events on it, not spans of their own", async () => {
    const appTracer = trace.getTracer("app");
    let attempt = 0;
    const graph = traced(
      buildAgentGraph(undefined, {
        wrapPrepare: (node) => resilient(node, { timeout: 10_000, retry: { retries: 2, minDelayMs: 1, maxDelayMs: 1, jitter: "none" } }),
        onPrepare: async () => {
          attempt++;
          await appTracer.startActiveSpan(`manual.work ${attempt}`, async (manual) => {
            // What an instrumented HTTP client does: a CLIENT span, and its context injected into the request.
            await appTracer.startActiveSpan("GET /echo", { kind: SpanKind.CLIENT }, async (client) => {
              const headers: Record<string, string> = {};
              propagation.inject(context.active(), headers);
              await fetch(echoUrl, { headers });
              client.end();
            });
            manual.end();
          });
          if (attempt === 1) throw Object.assign(new Error("upstream unavailable"), { status: 503 });
        },
      }).compile(),
      "support-agent",
    );
    await graph.invoke({ messages: [new HumanMessage("weather?")] }, { configurable: { thread_id: "thread-bridge" } });
    expect(attempt).toBe(2);
    const spans = await traceOf(collector, "support-agent", "thread-bridge");
    const prepare = one(spans, "prepare");
    const retry = prepare.events.find((e) => e.name === "langgraph.retry")!;
    expect(retry.attributes).toMatchObject({
      "langgraph.attempt": 1,
      "langgraph.retry.delay_ms": 1,
      "langgraph.retry.reason": expect.any(String),
    });
    expect(retry.attributes).toMatchObject({
      "error.type": "Error",
      "langgraph.error.status": 503,
      "langgraph.error.reason": "server_error",
    });
    expect(prepare.events.find((e) => e.name === "langgraph.attempt")?.attributes["langgraph.attempt"]).toBe(2);
    expect(spans.filter((s) => s.name.startsWith("prepare attempt"))).toHaveLength(0);
    // Both attempts' work nests directly under the node span.
    expect(one(spans, "manual.work 1").parentSpanId).toBe(prepare.spanId);
    expect(one(spans, "manual.work 2").parentSpanId).toBe(prepare.spanId);
    const clients = byName(spans, "GET /echo");
    expect(clients).toHaveLength(2);
    for (const c of clients) expect(isDescendant(spans, c, prepare)).toBe(true);
    // The outgoing request carried the trace: the server would continue it under the node.
    const parents = echoHeaders.slice(-2).map((h) => String(h.traceparent));
    expect(parents).toEqual(clients.sort((a, b) => (a.startNs < b.startNs ? -1 : 1)).map((c) => `00-${c.traceId}-${c.spanId}-01`));
  });

  it("an unwrapped node's span is the active context while it runs; withNodeContext does it under the callback handler", async () => {
    const S = Annotation.Root({ n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }) });
    const appTracer = trace.getTracer("app");
    const build = () =>
      new StateGraph(S)
        .addNode("bridged", (_s: typeof S.State, config) =>
          withNodeContext(config, () => appTracer.startActiveSpan("inside bridged", (span) => (span.end(), { n: 1 }))),
        )
        .addNode("plain", () => appTracer.startActiveSpan("inside plain", (span) => (span.end(), { n: 2 })))
        .addEdge(START, "bridged")
        .addEdge("bridged", "plain")
        .addEdge("plain", END)
        .compile();
    const spansOf = async (thread: string) => {
      await telemetry.forceFlush();
      const spans = await collector.waitFor((all) =>
        all.some((s) => s.name === "bridge" && s.attributes["langgraph.thread_id"] === thread),
      );
      const root = spans.find((s) => s.name === "bridge" && s.attributes["langgraph.thread_id"] === thread)!;
      return spans.filter((s) => s.traceId === root.traceId);
    };
    // Nodes that report their own runs enter their span for the node's whole run.
    await traced(build(), "bridge").invoke({ n: 0 }, { configurable: { thread_id: "thread-node-context" } });
    const own = await spansOf("thread-node-context");
    expect(one(own, "inside bridged").parentSpanId).toBe(one(own, "bridged").spanId);
    expect(one(own, "inside plain").parentSpanId).toBe(one(own, "plain").spanId);
    // Under the callback handler (graph shapes whose nodes cannot be wrapped) only withNodeContext does.
    await instrumentWithCallbacks(build(), { tracing: true, name: "bridge" }).invoke(
      { n: 0 },
      { configurable: { thread_id: "thread-with-node-context" } },
    );
    const handled = await spansOf("thread-with-node-context");
    expect(one(handled, "inside bridged").parentSpanId).toBe(one(handled, "bridged").spanId);
    expect(byName(handled, "inside plain")).toHaveLength(0);
  });

  it("timeout, fallback, breaker rejection and idempotency hits become events on the node span", async () => {
    const S = Annotation.Root({ n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }) });
    const breaker = createCircuitBreaker({
      name: "tracing-test-provider",
      volumeThreshold: 1,
      errorThresholdPercentage: 1,
      resetTimeout: 60_000,
    });
    await breaker.execute(() => Promise.reject(Object.assign(new Error("down"), { status: 503 }))).catch(() => undefined);
    expect(breaker.state).toBe("open");
    let slowCalls = 0;
    const graph = traced(
      new StateGraph(S)
        .addNode(
          "slow",
          resilient(
            async (_s: typeof S.State) => {
              slowCalls++;
              if (slowCalls === 1) await new Promise((resolve) => setTimeout(resolve, 500));
              throw Object.assign(new Error("bad request"), { status: 400 });
            },
            { timeout: 20, retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1, jitter: "none" }, fallback: () => ({ n: -1 }) },
          ),
        )
        .addNode(
          "guarded",
          resilient(async () => ({ n: 1 }), { circuitBreaker: breaker, fallback: () => ({ n: -2 }) }),
        )
        .addNode("pay", async (_s: typeof S.State, config) => {
          const receipt = await runOnce(config, "charge", async () => 42);
          const ok = interrupt({ receipt }) as boolean;
          return { n: ok ? receipt : 0 };
        })
        .addEdge(START, "slow")
        .addEdge("slow", "guarded")
        .addEdge("guarded", "pay")
        .addEdge("pay", END)
        .compile({ checkpointer: new MemorySaver() }),
      "wrapped",
    );
    const config = { configurable: { thread_id: "thread-events" } };
    await graph.invoke({ n: 0 }, config);
    const final = await graph.invoke(new Command({ resume: true }), config);
    expect(final.n).toBe(42);
    await telemetry.forceFlush();
    const all = await collector.waitFor(
      (spans) => spans.filter((s) => s.name === "wrapped" && s.attributes["langgraph.thread_id"] === "thread-events").length === 2,
    );
    const spans = all.filter((s) => s.attributes["gen_ai.conversation.id"] === "thread-events");
    const slow = one(spans, "slow");
    expect(slow.events.map((e) => e.name)).toEqual(["langgraph.timeout", "langgraph.retry", "langgraph.attempt", "langgraph.fallback"]);
    expect(slow.events[0]!.attributes["langgraph.timeout.ms"]).toBe(20);
    expect(slow.events[1]!.attributes).toMatchObject({ "error.type": "TimeoutError", "langgraph.error.reason": "timeout" });
    expect(slow.events[2]!.attributes["langgraph.attempt"]).toBe(2);
    expect(slow.events[3]!.attributes).toMatchObject({
      "error.type": "Error",
      "langgraph.error.status": 400,
      "langgraph.error.reason": "client_error",
    });
    for (const e of slow.events) expect(JSON.stringify(e.attributes)).not.toMatch(/bad request|timed out after/);
    const guarded = one(spans, "guarded");
    expect(guarded.events.map((e) => e.name)).toEqual(["langgraph.circuit_breaker.rejected", "langgraph.fallback"]);
    expect(guarded.events[0]!.attributes["langgraph.circuit_breaker.name"]).toBe("tracing-test-provider");
    const pays = byName(spans, "pay").sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
    expect(pays).toHaveLength(2);
    const results = pays.map((p) => p.events.find((e) => e.name === "langgraph.idempotency")?.attributes["langgraph.idempotency.result"]);
    expect(results).toEqual(["miss", "hit"]);
    expect(pays[0]!.events.map((e) => e.name)).toContain("langgraph.interrupt");
    breaker.shutdown();
  });
});
