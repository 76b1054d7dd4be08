/**
 * Error text under the privacy rule. Canary secrets ride in a provider error's message, `headers`, `request` and
 * `response`, in a tool's arguments and in the tool's error, and are thrown through a real graph (a retried node
 * calling a chat model, a ToolNode running a real tool) instrumented with metrics, tracing (the real OpenTelemetry
 * SDK exporting OTLP/HTTP to a receiver on 127.0.0.1) and logging (pino to a captured stream). By default no exported
 * byte and no log line holds them; with `errorMessages: true` the messages appear, masked by the default mask and a
 * user mask composed after it. The same run checks the attempt tree: both attempts' chat spans sit under the node span.
 */
import { randomBytes } from "node:crypto";
import { ChatAnthropic } from "@langchain/anthropic";
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage, HumanMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { tool } from "@langchain/core/tools";
import { END, type LangGraphRunnableConfig, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import { ChatOpenAI } from "@langchain/openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { z } from "zod";
import { safeStack } from "../src/observability/error-export.js";
import { startTelemetry, type Telemetry } from "../src/integrations/otel.js";
import { instrument } from "../src/observability/instrument.js";
import { createLogger } from "../src/observability/logging.js";
import { createMetrics } from "../src/observability/metrics.js";
import { composeMasks, defaultMask, type MaskFn } from "../src/observability/tracing/content.js";
import type { TracingOptions } from "../src/observability/tracing/handler.js";
import { resilient } from "../src/resilience/compose.js";
import type { RetriesExhaustedError } from "../src/resilience/errors.js";
import { type FakeProvider, startFakeProvider } from "./support/fake-provider.js";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./support/otlp-receiver.js";

const salt = randomBytes(6).toString("hex");
/** An Anthropic-shaped API key. */
const KEY = `sk-ant-api03-canary${salt}`;
/** A bearer token (no key prefix: only the `Bearer` shape gives it away). */
const BEARER = `canarybearer${salt}`;
/** A tool argument; no default pattern knows it, so only a user mask can redact it. */
const ARG = `canary-arg-${salt}`;
const CANARIES = [KEY, BEARER, ARG];
/** The human-readable part of the provider message: present only with errorMessages. */
const PROVIDER_TEXT = "Incorrect API key provided";

/** A provider error as SDKs build them: status, headers, the request that was sent and the response body. */
function providerError(status: number): Error {
  // The body's type matches the status, as the providers send it (Anthropic: `authentication_error` / `api_error`).
  const type = status === 401 ? "authentication_error" : "api_error";
  const body = { error: { message: `${PROVIDER_TEXT}: ${KEY}`, type } };
  return Object.assign(new Error(`${status} ${PROVIDER_TEXT}: ${KEY}. Sent Authorization: Bearer ${BEARER}`), {
    status,
    headers: { "x-api-key": KEY, authorization: `Bearer ${BEARER}`, "retry-after-ms": "1" },
    request: { method: "POST", headers: { authorization: `Bearer ${BEARER}` }, body: JSON.stringify({ api_key: KEY }) },
    response: { status, body },
    error: body.error,
  });
}

type Step = (messages: BaseMessage[]) => AIMessage;

/** A chat model that plays one scripted step per call (a step may throw, as a provider client does). */
class ScriptModel extends BaseChatModel {
  readonly #steps: Step[];
  calls = 0;
  constructor(steps: Step[]) {
    super({});
    this.#steps = steps;
  }
  _llmType(): string {
    return "script";
  }
  override getLsParams(options: this["ParsedCallOptions"]) {
    return { ...super.getLsParams(options), ls_provider: "anthropic", ls_model_name: "canary-model", ls_model_type: "chat" as const };
  }
  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const step = this.#steps[Math.min(this.calls, this.#steps.length - 1)]!;
    this.calls++;
    const message = step(messages);
    return { generations: [{ message, text: "" }] };
  }
}

const fail =
  (status: number): Step =>
  () => {
    throw providerError(status);
  };
const callCharge: Step = () =>
  new AIMessage({ content: "", tool_calls: [{ id: "call-1", name: "charge", args: { card: ARG }, type: "tool_call" }] });
const throwString: Step = () => {
  throw `upstream said: ${KEY}`;
};

/** A real tool whose error names its arguments, with the request it would have sent. */
const charge = tool(
  async ({ card }: { card: string }) => {
    throw Object.assign(new Error(`card ${card} declined (key ${KEY})`), {
      code: "card_declined",
      request: { args: { card }, headers: { "x-api-key": KEY } },
    });
  },
  { name: "charge", description: "Charges a card.", schema: z.object({ card: z.string() }) },
);

/** agent (retried once) → tools (ToolNode, errors propagate) → END. */
function buildGraph(model: BaseChatModel) {
  const agent = async (s: typeof MessagesAnnotation.State, config: LangGraphRunnableConfig) => ({
    messages: [await model.invoke(s.messages, config)],
  });
  return new StateGraph(MessagesAnnotation)
    .addNode("agent", resilient(agent, { retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1, jitter: "none" } }))
    .addNode("tools", new ToolNode([charge], { handleToolErrors: false }))
    .addEdge(START, "agent")
    .addConditionalEdges("agent", toolsCondition, { tools: "tools", __end__: END })
    .addEdge("tools", END)
    .compile();
}

/** The scripts: attempt 1 fails with a 503 then attempt 2 calls the tool, which fails; a 401; retries exhausted; a thrown string. */
const SCRIPTS: Record<string, Step[]> = {
  tool: [fail(503), callCharge],
  auth: [fail(401)],
  exhausted: [fail(503), fail(503)],
  string: [throwString, throwString],
};

let collector: OtlpReceiver;
let telemetry: Telemetry;

beforeAll(async () => {
  collector = await startOtlpReceiver();
  telemetry = startTelemetry({ serviceName: "privacy-test", otlp: { url: collector.url } });
});
afterAll(async () => {
  await telemetry?.shutdown();
  await collector?.close();
});

interface Outcome {
  spans: ReceivedSpan[];
  /** Raw OTLP request bodies of these runs' traces, so no attribute, event or status can hide a canary. */
  bodies: string[];
  lines: string[];
  metricsText: string;
  errors: unknown[];
}

/** Runs every script through a freshly instrumented graph and collects everything that left the process. */
async function runAll(
  label: string,
  tracing: TracingOptions | true,
  logging: { errorMessages?: boolean; mask?: (v: string) => string },
  models: Record<string, () => BaseChatModel> = Object.fromEntries(
    Object.entries(SCRIPTS).map(([k, steps]) => [k, () => new ScriptModel(steps)]),
  ),
): Promise<Outcome> {
  const lines: string[] = [];
  const logger = createLogger({ level: "trace", destination: { write: (s: string) => void lines.push(s) }, ...logging });
  const metrics = createMetrics();
  const errors: unknown[] = [];
  const threads: string[] = [];
  const before = collector.requests.length;
  for (const [name, model] of Object.entries(models)) {
    const graph = instrument(buildGraph(model()), { metrics, tracing, logger, name: `privacy-${label}` });
    const thread = `${label}-${name}`;
    threads.push(thread);
    await graph.invoke({ messages: [new HumanMessage("pay")] }, { configurable: { thread_id: thread } }).then(
      () => errors.push(undefined),
      (error: unknown) => errors.push(error),
    );
  }
  await telemetry.forceFlush();
  const all = await collector.waitFor((spans) =>
    threads.every((t) => spans.some((s) => s.parentSpanId === "" && s.attributes["gen_ai.conversation.id"] === t)),
  );
  const traces = new Set(
    all.filter((s) => s.parentSpanId === "" && threads.includes(String(s.attributes["gen_ai.conversation.id"]))).map((s) => s.traceId),
  );
  return {
    spans: all.filter((s) => traces.has(s.traceId)),
    bodies: collector.requests.slice(before).map((r) => r.body),
    lines,
    metricsText: await metrics.text(),
    errors,
  };
}

function rootOf(spans: ReceivedSpan[], thread: string): ReceivedSpan {
  const root = spans.find((s) => s.parentSpanId === "" && s.attributes["gen_ai.conversation.id"] === thread);
  expect(root, `root span of ${thread}`).toBeDefined();
  return root!;
}

function inTrace(spans: ReceivedSpan[], root: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((s) => s.traceId === root.traceId);
}

function exceptionsOf(spans: ReceivedSpan[]) {
  return spans.flatMap((s) => s.events.filter((e) => e.name === "exception").map((e) => ({ span: s, attributes: e.attributes })));
}

describe("by default", () => {
  let out: Outcome;
  beforeAll(async () => {
    out = await runAll("default", true, {});
  });

  it("every run failed with the canaries in the thrown error", () => {
    expect(out.errors).toHaveLength(4);
    for (const error of out.errors) expect(error).toBeInstanceOf(Error);
    // The error the caller gets is untouched: the rule is about what leaves the process.
    expect((out.errors[0] as Error).message).toContain(ARG);
    expect((out.errors[1] as Error).message).toContain(KEY);
    // RetriesExhaustedError names the last error's type and reason; the text stays on the last error itself.
    expect((out.errors[2] as RetriesExhaustedError).message).not.toContain(KEY);
    expect((out.errors[2] as RetriesExhaustedError).lastError.message).toContain(KEY);
  });

  it("no canary and no message reaches an exported span, event or status, a log line or a metric", () => {
    expect(out.spans.length).toBeGreaterThan(10);
    expect(out.bodies.length).toBeGreaterThan(0);
    const exported = out.bodies.join("\n");
    expect(exported).toContain("exception");
    for (const secret of [...CANARIES, PROVIDER_TEXT, "declined (", "upstream said"]) {
      expect(exported).not.toContain(secret);
      for (const line of out.lines) expect(line).not.toContain(secret);
      expect(out.metricsText).not.toContain(secret);
    }
    expect(out.lines.length).toBeGreaterThan(10);
  });

  it("failed spans carry type, status, code and reason; the stack keeps frames under a type-only first line", () => {
    const auth = inTrace(out.spans, rootOf(out.spans, "default-auth"));
    const chat = auth.find((s) => s.name === "chat canary-model")!;
    expect(chat.statusCode).toBe(2);
    expect(chat.statusMessage).toBe("Error");
    expect(chat.attributes).toMatchObject({
      "error.type": "Error",
      "langgraph.error.status": 401,
      "langgraph.error.reason": "auth",
    });
    const tools = inTrace(out.spans, rootOf(out.spans, "default-tool"));
    const toolSpan = tools.find((s) => s.name === "execute_tool charge")!;
    expect(toolSpan.attributes).toMatchObject({ "error.type": "Error", "langgraph.error.code": "card_declined" });
    expect(toolSpan.attributes["gen_ai.tool.call.arguments"]).toBeUndefined();
    const exceptions = exceptionsOf(out.spans);
    expect(exceptions.length).toBeGreaterThanOrEqual(8);
    for (const { span, attributes } of exceptions) {
      expect(attributes["exception.message"]).toBeUndefined();
      expect(attributes["exception.type"]).toBe(span.attributes["error.type"]);
      // A thrown string has no stack; every Error keeps its frames.
      if (attributes["exception.type"] === "_OTHER") {
        expect(attributes["exception.stacktrace"]).toBeUndefined();
        continue;
      }
      const stack = String(attributes["exception.stacktrace"]).split("\n");
      expect(stack[0]).toBe(attributes["exception.type"]);
      expect(stack.length).toBeGreaterThan(1);
      for (const frame of stack.slice(1)) expect(frame).toMatch(/^\s*at /);
    }
    expect(exceptions.filter((e) => e.attributes["exception.type"] === "_OTHER")).toHaveLength(2);
    // A thrown string and RetriesExhaustedError (whose message embeds its cause's) are no exception to the rule.
    const exhausted = inTrace(out.spans, rootOf(out.spans, "default-exhausted"));
    expect(exhausted.find((s) => s.name === "agent")!.attributes["error.type"]).toBe("RetriesExhaustedError");
  });

  it("log lines carry error_type, error_status, error_code and error_reason, no error_message", () => {
    const parsed = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const toolFailed = parsed.find((l) => l.msg === "tool failed")!;
    expect(toolFailed).toMatchObject({ tool: "charge", error_type: "Error", error_code: "card_declined" });
    const retrying = parsed.find((l) => l.msg === "node attempt failed, retrying")!;
    expect(retrying).toMatchObject({ node: "agent", error_status: 503, error_reason: "server_error" });
    const failed = parsed.filter((l) => l.msg === "node failed" || l.msg === "graph run failed" || l.msg === "node retries exhausted");
    expect(failed.length).toBeGreaterThanOrEqual(8);
    for (const line of [...failed, toolFailed, retrying]) {
      expect(line.error_message).toBeUndefined();
      expect(typeof line.error_reason).toBe("string");
    }
  });

  it("one tree: attempt 1's and attempt 2's chat spans both sit under the node span, numbered; no attempt spans", () => {
    const spans = inTrace(out.spans, rootOf(out.spans, "default-tool"));
    const agent = spans.filter((s) => s.name === "agent");
    expect(agent).toHaveLength(1);
    const chats = spans.filter((s) => s.name === "chat canary-model").sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
    expect(chats).toHaveLength(2);
    for (const chat of chats) expect(chat.parentSpanId).toBe(agent[0]!.spanId);
    expect(chats.map((c) => c.attributes["langgraph.attempt"])).toEqual([1, 2]);
    expect(chats.map((c) => c.statusCode)).toEqual([2, 0]);
    expect(spans.filter((s) => /attempt/.test(s.name))).toHaveLength(0);
    const events = agent[0]!.events.map((e) => e.name);
    expect(events).toEqual(["langgraph.retry", "langgraph.attempt"]);
    expect(agent[0]!.events[1]!.attributes["langgraph.attempt"]).toBe(2);
    expect(agent[0]!.statusCode).toBe(0);
    const toolsNode = spans.find((s) => s.name === "tools")!;
    expect(spans.find((s) => s.name === "execute_tool charge")!.parentSpanId).toBe(toolsNode.spanId);
  });
});

describe("with errorMessages: true", () => {
  // The README's example: a user mask for what only the application knows, composed after the default mask.
  const mask = (value: string) => value.replace(/canary-arg-[0-9a-f]+/g, "[card]");
  let out: Outcome;
  beforeAll(async () => {
    out = await runAll("messages", { errorMessages: true, mask }, { errorMessages: true, mask });
  });

  it("messages reach spans and log lines, but the canaries only masked", () => {
    const exported = out.bodies.join("\n");
    expect(exported).toContain(PROVIDER_TEXT);
    for (const line of out.lines) for (const secret of CANARIES) expect(line).not.toContain(secret);
    for (const secret of CANARIES) {
      expect(exported).not.toContain(secret);
      expect(out.metricsText).not.toContain(secret);
    }
    const messages = exceptionsOf(out.spans).map((e) => String(e.attributes["exception.message"]));
    expect(messages.some((m) => m.includes(`${PROVIDER_TEXT}: [REDACTED]`) && m.includes("Authorization: [REDACTED]"))).toBe(true);
    expect(messages.some((m) => m.includes("card [card] declined (key [REDACTED])"))).toBe(true);
    expect(messages.some((m) => m.includes("upstream said: [REDACTED]"))).toBe(true);
    // The stack still names only the type: the message is in exception.message, masked, and nowhere else.
    for (const e of exceptionsOf(out.spans)) {
      const stack = e.attributes["exception.stacktrace"];
      if (stack !== undefined) expect(String(stack).split("\n")[0]).toBe(e.attributes["exception.type"]);
    }

    const parsed = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.find((l) => l.msg === "tool failed")!.error_message).toBe("card [card] declined (key [REDACTED])");
    const nodeFailed = parsed.filter((l) => l.msg === "node failed").map((l) => String(l.error_message));
    expect(nodeFailed.some((m) => m.includes(`${PROVIDER_TEXT}: [REDACTED]`))).toBe(true);
  });
});

describe("the mask", () => {
  it("the default mask redacts key, bearer and credential-header shapes", () => {
    const cases: Array<[string, string]> = [
      [`key sk-${salt}abcdef`, "key [REDACTED]"],
      [`key sk-proj-${salt}abc_DEF-123`, "key [REDACTED]"],
      [`key ${KEY}`, "key [REDACTED]"],
      [`Authorization: Bearer ${BEARER}`, "Authorization: [REDACTED]"],
      [`authorization=Basic ${BEARER}==`, "authorization=[REDACTED]"],
      [`{"x-api-key":"${BEARER}","other":"kept"}`, `{"x-api-key":"[REDACTED]","other":"kept"}`],
      [`x-api-key: ${BEARER}\nnext: line`, "x-api-key: [REDACTED]\nnext: line"],
      [`{ apiKey: '${BEARER}' }`, "{ apiKey: '[REDACTED]' }"],
      [`sent bearer ${BEARER} twice`, "sent [REDACTED] twice"],
      ["authorization failed for this user", "authorization failed for this user"],
    ];
    for (const [input, expected] of cases) expect(defaultMask(input)).toBe(expected);
  });

  it("property: a key, token or credential header value between arbitrary text never survives the default mask", () => {
    const token = fc.stringMatching(/^[A-Za-z0-9_-]{12,40}$/);
    const text = fc.string({ maxLength: 30 });
    const separator = fc.constantFrom(" ", "\n", ":", "=", '"', "'", "(", ",", "_", "\t", "[", "{");
    const shape = fc.constantFrom(
      (t: string) => `sk-${t}`,
      (t: string) => `sk-proj-${t}`,
      (t: string) => `sk-ant-api03-${t}`,
      (t: string) => `Bearer ${t}`,
      (t: string) => `bearer ${t}`,
      (t: string) => `Authorization: Bearer ${t}`,
      (t: string) => `authorization=${t}`,
      (t: string) => `"x-api-key":"${t}"`,
      (t: string) => `x-api-key: ${t}`,
      (t: string) => `api_key=${t}`,
      (t: string) => `{"Authorization":"Basic ${t}"}`,
    );
    fc.assert(
      fc.property(text, separator, shape, token, separator, text, (before, s1, make, t, s2, after) => {
        const masked = defaultMask(`${before}${s1}${make(t)}${s2}${after}`);
        expect(masked).not.toContain(t);
        expect(masked).toContain("[REDACTED]");
      }),
      { numRuns: 300 },
    );
  });

  it("the stack keeps only frames: a multi-line message and frames a message fakes do not pass", () => {
    const error = new Error(`first line ${ARG}\nsecond line ${ARG}\n    at fake (${KEY})`);
    const stack = safeStack(error, "Error")!.split("\n");
    expect(stack[0]).toBe("Error");
    expect(stack.length).toBeGreaterThan(2);
    for (const line of stack.slice(1)) expect(line).toMatch(/^\s*at /);
    expect(stack.join("\n")).not.toContain(ARG);
    expect(stack.join("\n")).not.toContain(KEY);
    // A stack rewritten without the message (some libraries do) still keeps frames only.
    const custom = Object.assign(new Error("m"), { stack: `Wrapped: ${ARG}\n    at a (x.js:1:1)\nCaused by: ${ARG}\n    at b (y.js:2:2)` });
    expect(safeStack(custom, "Error")).toBe("Error\n    at a (x.js:1:1)\n    at b (y.js:2:2)");
  });

  it("composeMasks runs masks left to right; a tracing mask option runs after the default, in content capture too", async () => {
    const order: string[] = [];
    const composed = composeMasks(
      (v) => (order.push("a"), `${v}-a`),
      (v) => (order.push("b"), `${v}-b`),
    );
    expect(composed("x", "attr")).toBe("x-a-b");
    expect(order).toEqual(["a", "b"]);
    expect(() => composeMasks("x" as unknown as MaskFn)).toThrow(/composeMasks\(masks\[0\]\)/);

    // The README's content-capture example: a card mask of the application's own, with the default still on.
    const graph = instrument(buildGraph(new ScriptModel([callCharge])), {
      tracing: { captureContent: true, mask: (value) => value.replace(/\b\d{16}\b/g, "[card]") },
      name: "privacy-content",
    });
    await graph
      .invoke({ messages: [new HumanMessage(`card 4111111111111111, key ${KEY}`)] }, { configurable: { thread_id: "content-mask" } })
      .catch(() => undefined);
    await telemetry.forceFlush();
    const spans = await collector.waitFor((all) =>
      all.some((s) => s.parentSpanId === "" && s.attributes["gen_ai.conversation.id"] === "content-mask"),
    );
    const chat = inTrace(spans, rootOf(spans, "content-mask")).find((s) => s.name === "chat canary-model")!;
    expect(String(chat.attributes["gen_ai.input.messages"])).toContain("card [card], key [REDACTED]");
  });

  it("errorMessages and mask are validated", () => {
    expect(() =>
      instrument(buildGraph(new ScriptModel([callCharge])), { tracing: { errorMessages: "yes" as unknown as boolean } }),
    ).toThrow(/tracing\.errorMessages must be a boolean/);
    expect(() => createLogger({ errorMessages: 1 as unknown as boolean })).toThrow(
      /createLogger\(options\)\.errorMessages must be a boolean/,
    );
    expect(() => createLogger({ mask: "x" as unknown as MaskFn })).toThrow(/createLogger\(options\)\.mask must be a function/);
  });
});

describe("the real provider clients: a 401 whose body echoes the API key", () => {
  const OPENAI_KEY = `sk-proj-canary${salt}`;
  const ANTHROPIC_KEY = `sk-ant-api03-canary${salt}`;
  let provider: FakeProvider;
  beforeAll(async () => {
    provider = await startFakeProvider();
    provider.failAlways({ fault: "auth" });
  });
  afterAll(async () => {
    await provider?.close();
  });
  const models = () => ({
    openai: () =>
      new ChatOpenAI({ model: "gpt-4o-mini", apiKey: OPENAI_KEY, maxRetries: 0, configuration: { baseURL: provider.openaiBaseURL } }),
    anthropic: () =>
      new ChatAnthropic({ model: "claude-sonnet-4-5", apiKey: ANTHROPIC_KEY, maxRetries: 0, anthropicApiUrl: provider.anthropicBaseURL }),
  });

  it("by default the key reaches no span, log line or metric; with errorMessages only masked", async () => {
    const quiet = await runAll("client-default", true, {}, models());
    const loud = await runAll("client-messages", { errorMessages: true }, { errorMessages: true }, models());
    expect(provider.count("openai")).toBe(2);
    expect(provider.count("anthropic")).toBe(2);
    // The clients really threw the echoed key.
    for (const error of [...quiet.errors, ...loud.errors]) {
      expect(error).toBeInstanceOf(Error);
      expect(String((error as Error).message)).toMatch(/canary/);
    }
    for (const out of [quiet, loud]) {
      const exported = out.bodies.join("\n");
      expect(exported).toContain("exception");
      for (const secret of [OPENAI_KEY, ANTHROPIC_KEY, `canary${salt}`]) {
        expect(exported).not.toContain(secret);
        for (const line of out.lines) expect(line).not.toContain(secret);
        expect(out.metricsText).not.toContain(secret);
      }
      const chats = out.spans.filter((s) => s.name.startsWith("chat "));
      expect(chats).toHaveLength(2);
      for (const chat of chats) expect(chat.attributes["langgraph.error.status"]).toBe(401);
    }
    expect(quiet.bodies.join("\n")).not.toContain("Incorrect API key");
    expect(quiet.bodies.join("\n")).not.toContain("invalid x-api-key");
    const messages = exceptionsOf(loud.spans).map((e) => String(e.attributes["exception.message"]));
    expect(messages.some((m) => m.includes("Incorrect API key provided: [REDACTED]"))).toBe(true);
    expect(messages.some((m) => m.includes("invalid x-api-key: [REDACTED]"))).toBe(true);
    const logged = loud.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "node failed");
    expect(logged).toHaveLength(2);
    for (const line of logged) expect(String(line.error_message)).toContain("[REDACTED]");
  });
});
