/**
 * `resilientModel` on the real clients (`ChatOpenAI`, `ChatAnthropic`) against the fake provider on 127.0.0.1, alone
 * and inside `createReactAgent({ llm })`: requests counted by the server, the kit's policies instead of the client's.
 */
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { ChatOpenAI } from "@langchain/openai";
import { createAgent } from "langchain";
import { tool } from "@langchain/core/tools";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createCircuitBreaker } from "../src/resilience/circuit-breaker.js";
import { CircuitOpenError, RetriesExhaustedError, TimeoutError } from "../src/resilience/errors.js";
import { resilientModel } from "../src/agents/resilient-model.js";
import { CHANNELS, type RetryEvent, subscribe } from "../src/core/events.js";
import { instrument } from "../src/observability/instrument.js";
import { createMetrics } from "../src/observability/metrics.js";
import { FakeChatModel } from "../examples/shared/fake-chat-model.js";
import { sum } from "./metrics-fixtures.js";
import { startHangingServer } from "./support/hanging-server.js";
import { CLIENT_MAX_RETRIES, chatModel, FAST_RETRY, until } from "./support/agent-models.js";
import { type FakeProvider, type ProviderApi, startFakeProvider } from "./support/fake-provider.js";

let provider: FakeProvider;
beforeAll(async () => {
  provider = await startFakeProvider();
});
afterAll(async () => {
  await provider?.close();
});
afterEach(() => provider.clear());

const APIS: ProviderApi[] = ["openai", "anthropic"];
const lookup = tool(async ({ q }: { q: string }) => `found ${q}`, {
  name: "lookup",
  description: "looks something up",
  schema: z.object({ q: z.string() }),
});

describe.each(APIS)("resilientModel over %s", (api) => {
  it.each([0, 2])("sends retries + 1 requests per failing call (retries: %i) whatever the client's maxRetries", async (retries) => {
    const model = resilientModel(chatModel(api, provider), { retry: { retries, ...FAST_RETRY } });
    provider.failAlways({ fault: "server_error", status: 503 });
    const invoked = await model.invoke("hi").catch((e: unknown) => e);
    expect(provider.count(api)).toBe(retries + 1);
    if (retries > 0) expect(invoked).toBeInstanceOf(RetriesExhaustedError);
    provider.clear();
    provider.failAlways({ fault: "server_error", status: 503 });
    await expect(async () => {
      for await (const _ of await model.stream("hi")) void _;
    }).rejects.toThrow();
    expect(provider.count(api)).toBe(retries + 1);
    // Without the wrapper the same client sends 1 + its own maxRetries.
    expect(CLIENT_MAX_RETRIES).toBeGreaterThan(retries);
  });

  it("keeps bindTools and createReactAgent working: requests per fault counted in the agent, answers after a retry", async () => {
    const llm = resilientModel(chatModel(api, provider), { retry: { retries: 2, ...FAST_RETRY } });
    const agent = createReactAgent({ llm, tools: [lookup] });
    provider.failAlways({ fault: "overloaded" });
    await expect(agent.invoke({ messages: [{ role: "user", content: "find x" }] })).rejects.toBeInstanceOf(RetriesExhaustedError);
    expect(provider.count(api)).toBe(3);
    provider.clear();
    provider.enqueue(
      { fault: "server_error", status: 502 },
      { reply: { toolCalls: [{ name: "lookup", args: { q: "x" }, id: "call_x" }] } },
    );
    const out = await agent.invoke({ messages: [{ role: "user", content: "find x" }] });
    expect(out.messages.some((m) => m.getType() === "tool" && m.content === "found x")).toBe(true);
    expect(provider.count(api)).toBe(3);
    // The tools reached the provider in its own format.
    const body = provider.requests[1]!.body as { tools?: unknown[] };
    expect(body.tools).toHaveLength(1);
  });

  it("works as createAgent's model too", async () => {
    const model = resilientModel(chatModel(api, provider), { retry: { retries: 1, ...FAST_RETRY } });
    const agent = createAgent({ model, tools: [lookup] });
    provider.enqueue({ fault: "server_error", status: 503 }, { reply: { toolCalls: [{ name: "lookup", args: { q: "y" } }] } });
    const out = await agent.invoke({ messages: [{ role: "user", content: "find y" }] });
    expect(out.messages.some((m) => m.getType() === "tool" && m.content === "found y")).toBe(true);
    expect(provider.count(api)).toBe(3);
    provider.clear();
    provider.failAlways({ fault: "server_error", status: 503 });
    await expect(agent.invoke({ messages: [{ role: "user", content: "find y" }] })).rejects.toThrow();
    expect(provider.count(api)).toBe(2);
  });

  it("withStructuredOutput goes through the wrapper", async () => {
    const llm = resilientModel(chatModel(api, provider), { retry: { retries: 1, ...FAST_RETRY } });
    const structured = llm.withStructuredOutput(z.object({ city: z.string() }), { name: "answer", method: "functionCalling" });
    provider.enqueue({ fault: "server_error", status: 500 }, { reply: { toolCalls: [{ name: "answer", args: { city: "Oslo" } }] } });
    expect(await structured.invoke("where?")).toEqual({ city: "Oslo" });
    expect(provider.count(api)).toBe(2);
  });

  it("waits what the server's Retry-After asks for", async () => {
    const delays: RetryEvent[] = [];
    const stop = subscribe(CHANNELS.retry, (e) => delays.push(e));
    try {
      const model = resilientModel(chatModel(api, provider), { retry: { retries: 1, ...FAST_RETRY } });
      provider.enqueue({ fault: "rate_limited", retryAfter: "1" });
      const started = Date.now();
      expect((await model.invoke("hi")).content).toBe("ok");
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(delays.map((d) => [d.delayMs, d.serverDelay, d.reason])).toEqual([[1000, true, "rate_limited"]]);
    } finally {
      stop();
    }
  });

  it("aborts the attempt's HTTP request at the timeout and retries", async () => {
    const model = resilientModel(chatModel(api, provider), { timeout: 300, retry: { retries: 1, ...FAST_RETRY } });
    provider.enqueue({ fault: "hang" });
    expect((await model.invoke("hi")).content).toBe("ok");
    expect(provider.count(api)).toBe(2);
    provider.clear();
    provider.failAlways({ fault: "hang" });
    const single = resilientModel(chatModel(api, provider), { timeout: 200, retry: { retries: 0 } });
    const error = await single.invoke("hi").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as Error).cause).toBeInstanceOf(TimeoutError);
    expect(provider.count(api)).toBe(1);
  });

  it("cancellation in the middle of a backoff ends the call at once", async () => {
    const model = resilientModel(chatModel(api, provider), { retry: { retries: 5, minDelayMs: 20_000, maxDelayMs: 20_000 } });
    provider.failAlways({ fault: "server_error", status: 503 });
    const controller = new AbortController();
    const call = model.invoke("hi", { signal: controller.signal }).catch((e: unknown) => e);
    await until(() => provider.count(api) === 1);
    await new Promise((r) => setTimeout(r, 50));
    const abortedAt = Date.now();
    controller.abort();
    await call;
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(provider.count(api)).toBe(1);
  });

  it("inside createReactAgent: cancelling mid-backoff ends the run at once, an open breaker rejects without a request", async () => {
    const breaker = createCircuitBreaker({ name: `react-${api}`, volumeThreshold: 3, errorThresholdPercentage: 1, resetTimeout: 60_000 });
    const llm = resilientModel(chatModel(api, provider), {
      retry: { retries: 5, minDelayMs: 20_000, maxDelayMs: 20_000 },
      circuitBreaker: breaker,
    });
    const agent = createReactAgent({ llm, tools: [lookup] });
    provider.failAlways({ fault: "server_error", status: 503 });
    const controller = new AbortController();
    const run = agent.invoke({ messages: [{ role: "user", content: "hi" }] }, { signal: controller.signal }).catch((e: unknown) => e);
    await until(() => provider.count(api) === 1);
    await new Promise((r) => setTimeout(r, 50));
    const abortedAt = Date.now();
    controller.abort();
    expect(await run).toBeInstanceOf(Error);
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(provider.count(api)).toBe(1);

    const quick = createReactAgent({
      llm: resilientModel(chatModel(api, provider), { retry: { retries: 1, ...FAST_RETRY }, circuitBreaker: breaker }),
      tools: [lookup],
    });
    await expect(quick.invoke({ messages: [{ role: "user", content: "hi" }] })).rejects.toThrow();
    expect(breaker.state).toBe("open");
    provider.clear();
    const rejected = await quick.invoke({ messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(CircuitOpenError);
    expect(provider.count()).toBe(0);
    breaker.shutdown();
  });

  it("an open breaker rejects without a request; a fallback model answers while it is open", async () => {
    const breaker = createCircuitBreaker({ name: `model-${api}`, volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeout: 60_000 });
    const other: ProviderApi = api === "openai" ? "anthropic" : "openai";
    provider.failAlways({ fault: "server_error", status: 500 });
    const primary = resilientModel(chatModel(api, provider), { retry: { retries: 0 }, circuitBreaker: breaker });
    await expect(primary.invoke("hi")).rejects.toThrow();
    expect(breaker.state).toBe("open");
    provider.clear();
    await expect(primary.invoke("hi")).rejects.toBeInstanceOf(CircuitOpenError);
    expect(provider.count()).toBe(0);

    const withFallback = resilientModel(chatModel(api, provider), {
      retry: { retries: 2, ...FAST_RETRY },
      circuitBreaker: breaker,
      fallback: [chatModel(other, provider)],
    });
    provider.setDefaultReply({ text: `answer from ${other}` });
    expect((await withFallback.invoke("hi")).content).toBe(`answer from ${other}`);
    // The fallback carries the tools bound to the wrapper, in its own provider's format.
    const agent = createReactAgent({ llm: withFallback, tools: [lookup] });
    const out = await agent.invoke({ messages: [{ role: "user", content: "hi" }] });
    expect(out.messages.at(-1)?.content).toBe(`answer from ${other}`);
    expect(provider.count(api)).toBe(0);
    expect(provider.count(other)).toBe(2);
    expect((provider.requests[1]!.body as { tools?: unknown[] }).tools).toHaveLength(1);
    provider.setDefaultReply({ text: "ok" });
    breaker.shutdown();
  });

  it('in an agent streamed with streamMode "messages", a model stream is retried before its first token only', async () => {
    const llm = resilientModel(chatModel(api, provider), { retry: { retries: 2, ...FAST_RETRY } });
    const agent = createReactAgent({ llm, tools: [lookup] });
    const tokens = async (): Promise<string> => {
      let text = "";
      for await (const [chunk] of await agent.stream({ messages: [{ role: "user", content: "hi" }] }, { streamMode: "messages" })) {
        text += chunk.text;
      }
      return text;
    };
    provider.enqueue({ fault: "server_error", status: 503 }, { reply: { text: "streamed answer" } });
    expect(await tokens()).toBe("streamed answer");
    expect(provider.count(api)).toBe(2);
    expect(provider.requests.every((r) => r.stream)).toBe(true);
    provider.clear();
    provider.enqueue({ fault: "overloaded_mid_stream" });
    await expect(tokens()).rejects.toThrow();
    expect(provider.count(api)).toBe(1);
  });

  it("a stream that failed before its first chunk is retried; after its first chunk it is not", async () => {
    const model = resilientModel(chatModel(api, provider), { retry: { retries: 2, ...FAST_RETRY } });
    provider.enqueue({ fault: "server_error", status: 503 }, { reply: { text: "hello there" } });
    let text = "";
    for await (const chunk of await model.stream("hi")) text += chunk.content as string;
    expect(text).toBe("hello there");
    expect(provider.count(api)).toBe(2);
    provider.clear();
    provider.enqueue({ fault: "overloaded_mid_stream" });
    const received: string[] = [];
    const failed = await (async () => {
      for await (const chunk of await model.stream("hi")) received.push(chunk.content as string);
    })().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    expect(provider.count(api)).toBe(1);
  });
});

describe("resilientModel timeouts", () => {
  it("close the HTTP request of the attempt at its deadline", async () => {
    const hanging = await startHangingServer();
    try {
      const client = new ChatOpenAI({ model: "gpt-4o-mini", apiKey: "sk-test", configuration: { baseURL: hanging.baseURL } });
      const model = resilientModel(client, { timeout: 150, retry: { retries: 1, ...FAST_RETRY } });
      const error = await model.invoke("hi").catch((e: unknown) => e);
      expect((error as Error).cause).toBeInstanceOf(TimeoutError);
      expect(hanging.received).toBe(2);
      await until(() => hanging.closedByClient === 2);
    } finally {
      await hanging.close();
    }
  });
});

describe("resilientModel on a model with JS private fields", () => {
  it("invokes and streams through the wrapper (the provider hooks run on the model itself)", async () => {
    let calls = 0;
    const fail = () => (++calls === 1 ? Object.assign(new Error("503"), { status: 503 }) : undefined);
    const model = resilientModel(new FakeChatModel({ fail }), { retry: { retries: 1, ...FAST_RETRY } });
    expect((await model.invoke("hello")).content).toMatch(/ask me about a city/);
    expect(calls).toBe(2);
    let text = "";
    for await (const chunk of await model.stream("hello")) text += chunk.content as string;
    expect(text).toMatch(/ask me about a city/);
  });
});

describe("resilientModel events", () => {
  it("retries inside createReactAgent carry the graph and node labels of the run", async () => {
    const metrics = createMetrics();
    const llm = resilientModel(chatModel("openai", provider), { retry: { retries: 2, ...FAST_RETRY } });
    const agent = instrument(createReactAgent({ llm, tools: [lookup] }), { metrics, name: "react-resilient" });
    provider.enqueue({ fault: "server_error", status: 503 }, { fault: "rate_limited" });
    await agent.invoke({ messages: [{ role: "user", content: "hi" }] });
    const labels = { graph: "react-resilient", node: "agent" };
    expect(await sum(metrics, "langgraph_node_retries_total", { ...labels, reason: "server_error" })).toBe(1);
    expect(await sum(metrics, "langgraph_node_retries_total", { ...labels, reason: "rate_limited" })).toBe(1);
    expect(await sum(metrics, "langgraph_node_executions_total", { ...labels, status: "success" })).toBe(1);
    // Each attempt is its own LLM call in the GenAI metrics; the two failed ones carry their error type.
    expect(await sum(metrics, "gen_ai_client_operation_duration_seconds_count", { gen_ai_request_model: "gpt-4o-mini" })).toBe(3);
  });

  it("rejects bad options at wrap time, naming them", () => {
    const model = chatModel("openai", provider);
    expect(() => resilientModel(model, { retry: { retries: -1 } })).toThrow(
      /resilientModel\(options\)\.retry\.retries must be an integer >= 0/,
    );
    expect(() => resilientModel(model, { timeout: 0 })).toThrow(/resilientModel\(options\)\.timeout must be/);
    expect(() => resilientModel(model, { fallback: [{}] as never })).toThrow(
      "resilientModel(options).fallback[0].generate must be a function, got undefined",
    );
    expect(() => resilientModel(model, { fallback: [model, null] as never })).toThrow(
      "resilientModel(options).fallback[1] must be a LangChain chat model (an object with generate, _streamIterator, withConfig), got null",
    );
    expect(() => resilientModel(model, { fallback: model as never })).toThrow(
      /resilientModel\(options\)\.fallback must be an array, each item/,
    );
    expect(() => resilientModel(model, { rateLimit: {} } as never)).toThrow(
      /resilientModel\(options\)\.rateLimit needs requestsPerMinute or tokensPerMinute/,
    );
    expect(() => resilientModel(model, { timout: 5 } as never)).toThrow(
      'resilientModel(options): unknown option "timout" (did you mean "timeout"?); accepted options are timeout, retry, circuitBreaker, rateLimit, fallback',
    );
    expect(() => resilientModel(model, { circuitBreaker: { resetTimout: 5 } } as never)).toThrow(
      /resilientModel\(options\)\.circuitBreaker: unknown option "resetTimout" \(did you mean "resetTimeout"\?\)/,
    );
    expect(() => resilientModel(model, { retry: { minDelayMs: 10, maxDelayMs: 5 } })).toThrow(
      "resilientModel(options).retry.maxDelayMs (5) must be >= minDelayMs (10)",
    );
    expect(() => resilientModel({} as never)).toThrow(/^resilientModel\(model\)/);
  });
});
