/**
 * `resilienceMiddleware` in real `createAgent` agents on `ChatOpenAI` and `ChatAnthropic` against the fake provider:
 * requests counted by the server, cancellation, breaker, fallback models, idempotent tools, failure messages, events.
 */
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { Command, interrupt, MemorySaver } from "@langchain/langgraph";
import { ChatOpenAI } from "@langchain/openai";
import { createAgent, tool } from "langchain";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { resilienceMiddleware } from "../src/integrations/langchain.js";
import { FAILURE_METADATA_KEY, MODEL_FAILURE_MESSAGE, TOOL_FAILURE_MESSAGE } from "../src/agents/failure-messages.js";
import { CHANNELS, type RetryEvent, subscribe } from "../src/core/events.js";
import { instrument } from "../src/observability/instrument.js";
import { createMetrics } from "../src/observability/metrics.js";
import { createCircuitBreaker } from "../src/resilience/circuit-breaker.js";
import { CircuitOpenError } from "../src/resilience/errors.js";
import { runOnce } from "../src/resilience/idempotency.js";
import { InMemoryIdempotencyStore } from "../src/resilience/idempotency-store.js";
import { sum } from "./metrics-fixtures.js";
import { startHangingServer } from "./support/hanging-server.js";
import { chatModel, FAST_RETRY, until } from "./support/agent-models.js";
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
const ask = (content = "hi") => ({ messages: [{ role: "user", content }] });
const thread = () => ({ configurable: { thread_id: randomUUID() } });

/** A payment tool: charges through `runOnce` (so the charge is recorded per tool call), then may fail transiently. */
function paymentTool(failures: { left: number }, store = new InMemoryIdempotencyStore()) {
  const charges: string[] = [];
  const charge = tool(
    async ({ amount }: { amount: number }, config: LangGraphRunnableConfig) => {
      const receipt = await runOnce(
        config,
        "charge",
        () => {
          charges.push(`${amount}`);
          return `receipt-${charges.length}`;
        },
        { store },
      );
      if (failures.left > 0) {
        failures.left -= 1;
        throw Object.assign(new Error("payment gateway 503"), { status: 503 });
      }
      return `charged ${amount}: ${receipt}`;
    },
    { name: "charge", description: "charges the card", schema: z.object({ amount: z.number() }) },
  );
  return { charge, charges };
}

describe.each(APIS)("resilienceMiddleware on createAgent over %s", (api) => {
  it.each([0, 2])("model requests per fault equal retries + 1 (retries: %i) whatever the client's maxRetries", async (retries) => {
    const agent = createAgent({
      model: chatModel(api, provider),
      tools: [],
      middleware: [resilienceMiddleware({ model: { retry: { retries, ...FAST_RETRY } } })],
    });
    provider.failAlways({ fault: "server_error", status: 503 });
    await expect(agent.invoke(ask())).rejects.toThrow();
    expect(provider.count(api)).toBe(retries + 1);
  });

  it("answers after transient faults and aborts a hanging attempt at its timeout", async () => {
    const agent = createAgent({
      model: chatModel(api, provider),
      tools: [],
      middleware: [resilienceMiddleware({ model: { timeout: 300, retry: { retries: 2, ...FAST_RETRY } } })],
    });
    provider.enqueue({ fault: "hang" }, { fault: "rate_limited", retryAfterMs: "10" });
    const out = await agent.invoke(ask());
    expect(out.messages.at(-1)?.content).toBe("ok");
    expect(provider.count(api)).toBe(3);
  });

  it('streamed with streamMode "messages", a model call is retried before its first token only', async () => {
    const agent = createAgent({
      model: chatModel(api, provider),
      tools: [],
      middleware: [resilienceMiddleware({ model: { retry: { retries: 2, ...FAST_RETRY } } })],
    });
    const tokens = async (): Promise<string> => {
      let text = "";
      for await (const [chunk] of await agent.stream(ask(), { streamMode: "messages" })) text += (chunk as { text: string }).text;
      return text;
    };
    provider.enqueue({ fault: "server_error", status: 503 }, { reply: { text: "streamed answer" } });
    expect(await tokens()).toBe("streamed answer");
    expect(provider.count(api)).toBe(2);
    provider.clear();
    provider.enqueue({ fault: "overloaded_mid_stream" });
    await expect(tokens()).rejects.toThrow();
    expect(provider.count(api)).toBe(1);
  });

  it("cancellation in the middle of a backoff ends the run at once", async () => {
    const agent = createAgent({
      model: chatModel(api, provider),
      tools: [],
      middleware: [resilienceMiddleware({ model: { retry: { retries: 5, minDelayMs: 20_000, maxDelayMs: 20_000 } } })],
    });
    provider.failAlways({ fault: "overloaded" });
    const controller = new AbortController();
    const run = agent.invoke(ask(), { signal: controller.signal }).catch((e: unknown) => e);
    await until(() => provider.count(api) === 1);
    await new Promise((r) => setTimeout(r, 50));
    const abortedAt = Date.now();
    controller.abort();
    expect(await run).toBeInstanceOf(Error);
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(provider.count(api)).toBe(1);
  });

  it("an open breaker rejects without a request; a fallback model answers while it is open", async () => {
    const breaker = createCircuitBreaker({ name: `agent-${api}`, volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeout: 60_000 });
    const other: ProviderApi = api === "openai" ? "anthropic" : "openai";
    const build = (fallback: boolean) =>
      createAgent({
        model: chatModel(api, provider),
        tools: [],
        middleware: [
          resilienceMiddleware({
            model: {
              retry: { retries: 1, ...FAST_RETRY },
              circuitBreaker: breaker,
              ...(fallback ? { fallback: [chatModel(other, provider)] } : {}),
            },
          }),
        ],
      });
    provider.failAlways({ fault: "server_error", status: 500 });
    await expect(build(false).invoke(ask())).rejects.toThrow();
    expect(breaker.state).toBe("open");
    provider.clear();
    const rejected = await build(false)
      .invoke(ask())
      .catch((e: unknown) => e);
    expect(String((rejected as Error).cause ?? rejected)).toMatch(/Circuit breaker/);
    expect(provider.count()).toBe(0);

    provider.setDefaultReply({ text: `answer from ${other}` });
    const out = await build(true).invoke(ask());
    expect(out.messages.at(-1)?.content).toBe(`answer from ${other}`);
    expect(provider.count(api)).toBe(0);
    expect(provider.count(other)).toBe(1);
    provider.setDefaultReply({ text: "ok" });
    breaker.shutdown();
  });

  it("an idempotent tool that charges and then fails transiently charged once, and replays for the same call", async () => {
    const failures = { left: 1 };
    const store = new InMemoryIdempotencyStore();
    const { charge, charges } = paymentTool(failures, store);
    const build = (idempotent: true | ((call: { id?: string }) => string)) =>
      createAgent({
        model: chatModel(api, provider),
        tools: [charge],
        checkpointer: new MemorySaver(),
        middleware: [resilienceMiddleware({ tools: { retry: { retries: 2, ...FAST_RETRY }, idempotent, store } })],
      });
    provider.enqueue({ reply: { toolCalls: [{ name: "charge", args: { amount: 42 }, id: `call_${api}_1` }] } });
    const out = await build(true).invoke(ask("pay"), thread());
    expect(failures.left).toBe(0);
    expect(charges).toEqual(["42"]);
    expect(out.messages.find((m) => m.getType() === "tool")?.content).toBe("charged 42: receipt-1");
    // One record for the charge inside the tool, one for the tool call's result.
    expect(store.size).toBe(2);

    // Keyed by the call id alone: the same call in another run replays the recorded result without running the tool.
    const byCallId = build((call) => String(call.id));
    provider.enqueue({ reply: { toolCalls: [{ name: "charge", args: { amount: 7 }, id: `call_${api}_2` }] } });
    await byCallId.invoke(ask("pay"), thread());
    provider.enqueue({ reply: { toolCalls: [{ name: "charge", args: { amount: 7 }, id: `call_${api}_2` }] } });
    const replayed = await byCallId.invoke(ask("pay"), thread());
    expect(charges).toEqual(["42", "7"]);
    expect(replayed.messages.find((m) => m.getType() === "tool")?.content).toBe("charged 7: receipt-2");

    // Two calls in one answer are two charges, each under its own key.
    provider.enqueue({
      reply: {
        toolCalls: [
          { name: "charge", args: { amount: 1 }, id: `call_${api}_3` },
          { name: "charge", args: { amount: 2 }, id: `call_${api}_4` },
        ],
      },
    });
    await build(true).invoke(ask("pay twice"), thread());
    expect([...charges].sort()).toEqual(["1", "2", "42", "7"]);
  });

  it("an interrupt inside an idempotent tool passes through; on resume the charge made before it is replayed", async () => {
    const store = new InMemoryIdempotencyStore();
    const charges: number[] = [];
    const approve = tool(
      async ({ amount }: { amount: number }, config: LangGraphRunnableConfig) => {
        const receipt = await runOnce(config, "charge", () => charges.push(amount), { store });
        const decision = interrupt({ confirm: amount });
        return `charge ${receipt} ${decision}`;
      },
      { name: "charge_and_confirm", description: "charges, then asks", schema: z.object({ amount: z.number() }) },
    );
    const agent = createAgent({
      model: chatModel(api, provider),
      tools: [approve],
      checkpointer: new MemorySaver(),
      middleware: [resilienceMiddleware({ tools: { retry: { retries: 2, ...FAST_RETRY }, idempotent: true, store } })],
    });
    provider.enqueue({ reply: { toolCalls: [{ name: "charge_and_confirm", args: { amount: 9 }, id: `call_${api}_i` }] } });
    const config = thread();
    const paused = await agent.invoke(ask("pay 9"), config);
    expect((paused as { __interrupt__?: unknown[] }).__interrupt__).toHaveLength(1);
    expect(charges).toEqual([9]);
    const done = await agent.invoke(new Command({ resume: "approved" }), config);
    expect(charges).toEqual([9]);
    expect(done.messages.find((m) => m.getType() === "tool")?.content).toBe("charge 1 approved");
  });

  it('onFailure "message" answers with a fixed text that does not contain the error, and metadata naming its type', async () => {
    const { charge } = paymentTool({ left: 99 });
    const agent = createAgent({
      model: chatModel(api, provider),
      tools: [charge],
      middleware: [resilienceMiddleware({ tools: { retry: { retries: 1, ...FAST_RETRY } }, onFailure: "message" })],
    });
    provider.enqueue({ reply: { toolCalls: [{ name: "charge", args: { amount: 5 }, id: `call_${api}_m` }] } });
    const out = await agent.invoke(ask("pay"), thread());
    const toolMessage = out.messages.find((m) => m.getType() === "tool");
    expect(toolMessage?.content).toBe(TOOL_FAILURE_MESSAGE);
    expect(JSON.stringify(out.messages)).not.toContain("payment gateway");

    provider.clear();
    provider.failAlways({ fault: "auth" });
    const model = createAgent({ model: chatModel(api, provider), tools: [], middleware: [resilienceMiddleware({ onFailure: "message" })] });
    const failed = await model.invoke(ask());
    const last = failed.messages.at(-1)!;
    expect(last.content).toBe(MODEL_FAILURE_MESSAGE);
    expect(JSON.stringify(failed.messages)).not.toMatch(/sk-|api key|x-api-key/i);
    expect((last.response_metadata as Record<string, { reason: string }>)[FAILURE_METADATA_KEY]?.reason).toBe("auth");
    // A 401 is not retried.
    expect(provider.count(api)).toBe(1);
  });
});

describe("resilienceMiddleware events", () => {
  it("model and tool retries, timeouts and breakers carry the agent's graph and node labels and the tool name", async () => {
    const metrics = createMetrics();
    const logLines: Record<string, unknown>[] = [];
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const events: RetryEvent[] = [];
    const stop = subscribe(CHANNELS.retry, (e) => events.push(e));
    const slow = tool(
      async (_input: Record<string, never>, config: LangGraphRunnableConfig) =>
        new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => resolve("late"), 5_000);
          config.signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(config.signal?.reason);
          });
        }),
      { name: "slow_search", description: "slow", schema: z.object({}) },
    );
    try {
      const agent = instrument(
        createAgent({
          model: chatModel("openai", provider),
          tools: [slow],
          middleware: [
            resilienceMiddleware({
              model: { retry: { retries: 2, ...FAST_RETRY } },
              tools: { timeout: 100, retry: { retries: 1, ...FAST_RETRY }, circuitBreaker: { volumeThreshold: 100 } },
              onFailure: "message",
            }),
          ],
        }),
        { metrics, logger: pino({ level: "debug" }, logStream), name: "support-agent" },
      );
      provider.enqueue({ fault: "server_error", status: 503 }, { reply: { toolCalls: [{ name: "slow_search", args: {}, id: "call_s" }] } });
      const out = await agent.invoke(ask());
      expect(out.messages.find((m) => m.getType() === "tool")?.content).toBe(TOOL_FAILURE_MESSAGE);
      const g = { graph: "support-agent" };
      expect(await sum(metrics, "langgraph_node_retries_total", { ...g, node: "model_request", reason: "server_error" })).toBe(1);
      expect(await sum(metrics, "langgraph_node_retries_total", { ...g, node: "tools", reason: "timeout" })).toBe(1);
      expect(await sum(metrics, "langgraph_node_timeouts_total", { ...g, node: "tools" })).toBe(2);
      expect(await sum(metrics, "langgraph_node_retries_exhausted_total", { ...g, node: "tools" })).toBe(1);
      expect(await sum(metrics, "langgraph_circuit_breaker_state", { breaker: "tool:slow_search", state: "closed" })).toBe(1);
      const toolRetry = events.find((e) => e.node === "tools");
      expect(toolRetry?.tool).toBe("slow_search");
      expect(events.find((e) => e.node === "model_request")?.tool).toBeUndefined();
      const retryLines = logLines.filter((l) => l.msg === "node attempt failed, retrying");
      expect(retryLines.map((l) => [l.graph, l.node, l.tool])).toEqual([
        ["support-agent", "model_request", undefined],
        ["support-agent", "tools", "slow_search"],
      ]);
    } finally {
      stop();
    }
  });

  it("rejects bad options at construction, naming them", () => {
    expect(() => resilienceMiddleware({ onFailure: "continue" as never })).toThrow(
      /resilienceMiddleware\(options\)\.onFailure must be one of error, message/,
    );
    expect(() => resilienceMiddleware({ model: { retry: { retries: 1.5 } } })).toThrow(
      /resilienceMiddleware\(options\)\.model\.retry\.retries/,
    );
    expect(() => resilienceMiddleware({ tools: { idempotent: "yes" as never } })).toThrow(
      /resilienceMiddleware\(options\)\.tools\.idempotent/,
    );
    expect(() => resilienceMiddleware({ tools: { circuitBreaker: { resetTimeout: -1 } } })).toThrow(/tools\.circuitBreaker\.resetTimeout/);
    expect(() => resilienceMiddleware({ tools: { ttlMs: 0 } })).toThrow(/resilienceMiddleware\(options\)\.tools\.ttlMs/);
    expect(() => resilienceMiddleware({ model: { rateLimit: {} } as never })).toThrow(
      /resilienceMiddleware\(options\)\.model\.rateLimit needs requestsPerMinute or tokensPerMinute/,
    );
    expect(() => resilienceMiddleware({ tools: { idempotent: "yes" as never } })).toThrow(
      'resilienceMiddleware(options).tools.idempotent must be a boolean or a function, got "yes"',
    );
    expect(() => resilienceMiddleware({ model: { fallback: [null] as never } })).toThrow(
      "resilienceMiddleware(options).model.fallback[0] must be a LangChain chat model (an object with generate, _streamIterator, withConfig), got null",
    );
    expect(() => resilienceMiddleware({ tools: { store: {} as never } })).toThrow(
      "resilienceMiddleware(options).tools.store.claim must be a function, got undefined",
    );
    expect(() => resilienceMiddleware({ tools: { timeout: { ms: 0 } } })).toThrow(
      /resilienceMiddleware\(options\)\.tools\.timeout\.ms must be/,
    );
    // Each tool's breaker is created on its first call: its options are checked across keys at construction all the same.
    expect(() => resilienceMiddleware({ tools: { circuitBreaker: { rollingCountBuckets: 3 } } })).toThrow(
      "resilienceMiddleware(options).tools.circuitBreaker.rollingCountBuckets (3) must divide rollingCountTimeout (10000)",
    );
    expect(() => resilienceMiddleware({ tool: {} } as never)).toThrow(
      'resilienceMiddleware(options): unknown option "tool" (did you mean "tools"?); accepted options are model, tools, onFailure',
    );
  });

  it("a model attempt's timeout closes its HTTP request", async () => {
    const hanging = await startHangingServer();
    try {
      const model = new ChatOpenAI({ model: "gpt-4o-mini", apiKey: "sk-test", configuration: { baseURL: hanging.baseURL } });
      const agent = createAgent({
        model,
        tools: [],
        middleware: [resilienceMiddleware({ model: { timeout: 150, retry: { retries: 1, ...FAST_RETRY } } })],
      });
      await expect(agent.invoke(ask())).rejects.toThrow();
      expect(hanging.received).toBe(2);
      await until(() => hanging.closedByClient === 2);
    } finally {
      await hanging.close();
    }
  });

  it("an open breaker's rejection is a CircuitOpenError from the middleware", async () => {
    const breaker = createCircuitBreaker({ name: "agent-direct", volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeout: 60_000 });
    provider.failAlways({ fault: "server_error", status: 500 });
    const agent = createAgent({
      model: chatModel("openai", provider),
      tools: [],
      middleware: [resilienceMiddleware({ model: { retry: { retries: 0 }, circuitBreaker: breaker } })],
    });
    await agent.invoke(ask()).catch(() => undefined);
    const error = await agent.invoke(ask()).catch((e: unknown) => e);
    let found: unknown = error;
    while (found instanceof Error && !(found instanceof CircuitOpenError) && found.cause !== undefined) found = found.cause;
    expect(found).toBeInstanceOf(CircuitOpenError);
    breaker.shutdown();
  });
});
