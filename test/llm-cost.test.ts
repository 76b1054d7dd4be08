/**
 * LLM cost and streaming latency with the real `@langchain/openai` and `@langchain/anthropic` clients against the fake
 * provider: the cost series, the root span and the run's log line all carry the cost hand-computed from the usage the
 * server sent (by the billing rule of src/observability/cost.ts, with the same arithmetic), and time to first chunk
 * is recorded for streamed calls only, in the bucket of the delay the server put before its first chunk.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage } from "@langchain/core/messages";
import { MessagesAnnotation, StateGraph } from "@langchain/langgraph";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger, createMetrics, instrument, type Metrics, type Prices } from "../src/index.js";
import { GEN_AI_DURATION_BUCKETS } from "../src/observability/series.js";
import { sum } from "./metrics-fixtures.js";
import { type FakeProvider, type Reply, startFakeProvider } from "./support/fake-provider.js";
import { chatAnthropic, chatOpenAI } from "./support/provider-clients.js";

const exporter = new InMemorySpanExporter();
const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let provider: FakeProvider;
beforeAll(async () => {
  tracerProvider.register();
  provider = await startFakeProvider();
});
afterAll(async () => {
  await provider.close();
  await tracerProvider.shutdown();
});
beforeEach(() => {
  exporter.reset();
  provider.clear();
});

/** USD of `tokens` at `rate` per million: the one expression the billing rule specifies. */
const usd = (tokens: number, rate: number) => (tokens * rate) / 1_000_000;

/** Example prices for the tests (not real list prices). */
const PRICES: Prices = {
  // The exact request name; the dated response name below must win over it.
  "gpt-4o-mini": { input: 99, output: 99 },
  "gpt-4o-mini-2024*": { input: 0.15, cached_input: 0.075, output: 0.6, reasoning: 2.4 },
  "/^claude-sonnet-4-5(-\\d{8})?$/": { input: 3, cached_input: 0.3, cache_write: 3.75, output: 15 },
  // No cached_input rate: cached tokens of this model are unpriced, the rest is costed.
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
};

type Line = Record<string, unknown>;

async function runOnce(model: BaseChatModel, mode: "invoke" | "messages", metrics: Metrics) {
  const lines: Line[] = [];
  const logger = createLogger({ level: "info", destination: { write: (s: string) => void lines.push(JSON.parse(s) as Line) } });
  const graph = new StateGraph(MessagesAnnotation)
    .addNode("call_model", async (state) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge("__start__", "call_model")
    .compile();
  const app = instrument(graph, { metrics, tracing: true, logger, name: "costed" });
  const input = { messages: [new HumanMessage("hi")] };
  if (mode === "invoke") await app.invoke(input);
  else for await (const _ of await app.stream(input, { streamMode: "messages" })) void _;
  const spans = exporter.getFinishedSpans();
  const root = spans.find((s) => s.name === "costed");
  const chat = spans.find((s) => s.name.startsWith("chat "));
  const finished = lines.find((l) => l.msg === "graph run finished");
  return { root, chat, finished };
}

async function costOf(metrics: Metrics, model: string, type: string): Promise<number> {
  return sum(metrics, "langgraph_llm_cost_usd_total", { graph: "costed", gen_ai_request_model: model, gen_ai_token_type: type });
}

async function unpricedOf(metrics: Metrics, model: string, type: string): Promise<number> {
  return sum(metrics, "langgraph_llm_unpriced_tokens_total", { graph: "costed", gen_ai_request_model: model, gen_ai_token_type: type });
}

/** Observations of `histogram` per bucket (not cumulative), keyed by upper bound. */
async function buckets(metrics: Metrics, histogram: string, model: string): Promise<Map<number, number>> {
  const metric = metrics.registry.getSingleMetric(histogram);
  if (metric === undefined) throw new Error(`no ${histogram}`);
  const data = await metric.get();
  const cumulative = data.values
    .filter((v) => (v as { metricName?: string }).metricName === `${histogram}_bucket` && v.labels.gen_ai_request_model === model)
    .map((v) => [v.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(v.labels.le), v.value] as const)
    .sort((a, b) => a[0] - b[0]);
  const out = new Map<number, number>();
  let previous = 0;
  for (const [le, value] of cumulative) {
    out.set(le, value - previous);
    previous = value;
  }
  return out;
}

/** The upper bound of the GenAI duration bucket holding `seconds`. */
function bucketOf(seconds: number): number {
  return GEN_AI_DURATION_BUCKETS.find((le) => seconds <= le) ?? Number.POSITIVE_INFINITY;
}

const TTFC = "gen_ai_client_operation_time_to_first_chunk_seconds";
const TPOC = "gen_ai_client_operation_time_per_output_chunk_seconds";
/**
 * The server's delay before the first content chunk: 0.7 s, in the (0.64, 1.28] bucket. The client sees it plus the
 * request's own latency, so the bound above leaves over half a second for a loaded machine.
 */
const FIRST_CHUNK_DELAY_MS = 700;

describe("ChatOpenAI: cached and reasoning tokens", () => {
  // On the wire: prompt_tokens 1200 of which cached_tokens 1000; completion_tokens 300 of which reasoning_tokens 200.
  const reply: Reply = {
    text: "hello world",
    model: "gpt-4o-mini-2024-07-18",
    usage: { input: 1200, output: 300, cacheRead: 1000, reasoning: 200 },
  };
  // The billing rule: input 1200 - 1000 cached = 200; output 300 - 200 reasoning = 100 (the price has a reasoning rate).
  const expected = {
    input: usd(200, 0.15),
    cached_input: usd(1000, 0.075),
    output: usd(100, 0.6),
    reasoning: usd(200, 2.4),
  };
  const total = expected.input + expected.cached_input + 0 + expected.output + expected.reasoning;

  it.each(["invoke", "messages"] as const)("%s: cost by billed type, on the counter, the root span and the log line", async (mode) => {
    provider.enqueue({
      reply: { ...reply, ...(mode === "messages" ? { firstChunkDelayMs: FIRST_CHUNK_DELAY_MS, chunkDelayMs: 50 } : {}) },
    });
    const metrics = createMetrics({ prices: PRICES });
    const { root, chat, finished } = await runOnce(chatOpenAI(provider), mode, metrics);
    expect(provider.requests[0]?.stream).toBe(mode === "messages");
    // Priced by the dated response model's prefix rule, not by the request model's exact entry (99 $/M).
    for (const [type, value] of Object.entries(expected)) expect(await costOf(metrics, "gpt-4o-mini", type)).toBe(value);
    expect(await costOf(metrics, "gpt-4o-mini", "cache_write")).toBe(0);
    expect(await unpricedOf(metrics, "gpt-4o-mini", "input")).toBe(0);
    expect(chat?.attributes["langgraph.llm.cost_usd"]).toBe(total);
    expect(root?.attributes).toMatchObject({
      "langgraph.run.cost_usd": total,
      "langgraph.run.llm_calls": 1,
      "langgraph.run.input_tokens": 1200,
      "langgraph.run.output_tokens": 300,
      "langgraph.run.cache_read_tokens": 1000,
      "langgraph.run.reasoning_tokens": 200,
    });
    expect(root?.attributes["langgraph.run.unpriced_tokens"]).toBeUndefined();
    expect(finished).toMatchObject({
      cost_usd: total,
      input_tokens: 1200,
      output_tokens: 300,
      cache_read_tokens: 1000,
      reasoning_tokens: 200,
    });
    expect(await sum(metrics, "langgraph_llm_run_cost_usd_sum", { graph: "costed" })).toBe(total);
    expect(await sum(metrics, "langgraph_llm_run_cost_usd_count", { graph: "costed" })).toBe(1);

    const ttfc = await buckets(metrics, TTFC, "gpt-4o-mini");
    if (mode === "invoke") {
      // Not streamed: no time to first chunk, no time per chunk.
      expect(await sum(metrics, `${TTFC}_count`)).toBe(0);
      expect(await sum(metrics, `${TPOC}_count`)).toBe(0);
      expect(chat?.attributes["gen_ai.request.stream"]).toBeUndefined();
    } else {
      expect(ttfc.get(bucketOf(FIRST_CHUNK_DELAY_MS / 1000))).toBe(1);
      expect(await sum(metrics, `${TTFC}_count`)).toBe(1);
      // "hello world" streams as two text chunks: one gap after the first, at least the 50 ms the server waited.
      expect(await sum(metrics, `${TPOC}_count`)).toBe(1);
      expect(await sum(metrics, `${TPOC}_sum`)).toBeGreaterThanOrEqual(0.045);
      expect(chat?.attributes["gen_ai.request.stream"]).toBe(true);
    }
  });

  it("a model whose price leaves a token type out: those tokens are unpriced, never costed at 0", async () => {
    provider.enqueue({ reply: { text: "ok", model: "gpt-4.1-nano", usage: { input: 500, output: 40, cacheRead: 300 } } });
    const metrics = createMetrics({ prices: PRICES });
    const { root, finished } = await runOnce(chatOpenAI(provider, { model: "gpt-4.1-nano" }), "invoke", metrics);
    expect(await costOf(metrics, "gpt-4.1-nano", "input")).toBe(usd(200, 0.1));
    expect(await costOf(metrics, "gpt-4.1-nano", "output")).toBe(usd(40, 0.4));
    expect(await unpricedOf(metrics, "gpt-4.1-nano", "cached_input")).toBe(300);
    expect(await costOf(metrics, "gpt-4.1-nano", "cached_input")).toBe(0);
    // The run's cost leaves tokens out: shown with its unpriced tokens, and not a sample of the per-run cost histogram.
    expect(root?.attributes["langgraph.run.cost_usd"]).toBe(usd(200, 0.1) + usd(40, 0.4));
    expect(root?.attributes["langgraph.run.unpriced_tokens"]).toBe(300);
    expect(finished?.unpriced_tokens).toBe(300);
    expect(await sum(metrics, "langgraph_llm_run_cost_usd_count")).toBe(0);
  });

  it("a model with no price at all: every token is unpriced and no cost is shown", async () => {
    provider.enqueue({ reply: { text: "ok", usage: { input: 70, output: 30 } } });
    const metrics = createMetrics({ prices: PRICES });
    const { root, chat, finished } = await runOnce(chatOpenAI(provider, { model: "gpt-5-unlisted" }), "invoke", metrics);
    expect(await unpricedOf(metrics, "gpt-5-unlisted", "input")).toBe(70);
    expect(await unpricedOf(metrics, "gpt-5-unlisted", "output")).toBe(30);
    expect(await sum(metrics, "langgraph_llm_cost_usd_total")).toBe(0);
    expect(root?.attributes["langgraph.run.cost_usd"]).toBeUndefined();
    expect(root?.attributes["langgraph.run.unpriced_tokens"]).toBe(100);
    expect(chat?.attributes["langgraph.llm.cost_usd"]).toBeUndefined();
    expect(finished?.cost_usd).toBeUndefined();
    expect(finished).toMatchObject({ input_tokens: 70, output_tokens: 30, unpriced_tokens: 100 });
  });

  it("without prices: tokens still count, as unpriced", async () => {
    provider.enqueue({ reply: { text: "ok", usage: { input: 12, output: 3 } } });
    const metrics = createMetrics();
    await runOnce(chatOpenAI(provider), "invoke", metrics);
    expect(await unpricedOf(metrics, "gpt-4o-mini", "input")).toBe(12);
    expect(await sum(metrics, "langgraph_llm_cost_usd_total")).toBe(0);
  });
});

describe("ChatAnthropic: cache reads and writes", () => {
  // On the wire: input_tokens 50 (uncached), cache_read_input_tokens 900, cache_creation_input_tokens 100, output 80.
  // @langchain/anthropic reports input_tokens = 50 + 900 + 100 = 1050 with the two as input_token_details.
  const reply: Reply = {
    text: "hello world",
    model: "claude-sonnet-4-5-20250929",
    usage: { input: 50, output: 80, cacheRead: 900, cacheWrite: 100 },
  };

  it.each(["invoke", "messages"] as const)("%s: cost by billed type equals the hand-computed value", async (mode) => {
    provider.enqueue({ reply: { ...reply, ...(mode === "messages" ? { firstChunkDelayMs: FIRST_CHUNK_DELAY_MS } : {}) } });
    const metrics = createMetrics({ prices: PRICES });
    const { root, finished } = await runOnce(chatAnthropic(provider), mode, metrics);
    expect(provider.requests[0]?.stream).toBe(mode === "messages");
    // Streamed, @langchain/anthropic reports one output token more than the server sent (the message_start
    // placeholder is added to message_delta's total; upstream behaviour). The expectation uses what LangChain reports.
    const output = mode === "messages" ? 81 : 80;
    const expected = { input: usd(50, 3), cached_input: usd(900, 0.3), cache_write: usd(100, 3.75), output: usd(output, 15) };
    const total = expected.input + expected.cached_input + expected.cache_write + expected.output;
    for (const [type, value] of Object.entries(expected)) expect(await costOf(metrics, "claude-sonnet-4-5", type)).toBe(value);
    expect(root?.attributes).toMatchObject({
      "langgraph.run.cost_usd": total,
      "langgraph.run.input_tokens": 1050,
      "langgraph.run.output_tokens": output,
      "langgraph.run.cache_read_tokens": 900,
      "langgraph.run.cache_creation_tokens": 100,
    });
    expect(finished?.cost_usd).toBe(total);
    if (mode === "invoke") expect(await sum(metrics, `${TTFC}_count`)).toBe(0);
    else expect((await buckets(metrics, TTFC, "claude-sonnet-4-5")).get(bucketOf(FIRST_CHUNK_DELAY_MS / 1000))).toBe(1);
  });
});

describe("per-run cost over several calls", () => {
  it("a run's cost is the sum of its calls, in call order", async () => {
    provider.enqueue(
      { reply: { text: "a", usage: { input: 1000, output: 10 } } },
      { reply: { text: "b", usage: { input: 2000, output: 20, cacheRead: 1500 } } },
    );
    const metrics = createMetrics({ prices: { "gpt-4o-mini": { input: 0.15, cached_input: 0.075, output: 0.6 } } });
    const model = chatOpenAI(provider);
    const lines: Line[] = [];
    const logger = createLogger({ level: "info", destination: { write: (s: string) => void lines.push(JSON.parse(s) as Line) } });
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("first", async (state) => ({ messages: [await model.invoke(state.messages)] }))
      .addNode("second", async (state) => ({ messages: [await model.invoke(state.messages)] }))
      .addEdge("__start__", "first")
      .addEdge("first", "second")
      .compile();
    await instrument(graph, { metrics, logger, name: "costed" }).invoke({ messages: [new HumanMessage("hi")] });
    const first = usd(1000, 0.15) + usd(10, 0.6);
    const second = usd(500, 0.15) + usd(1500, 0.075) + usd(20, 0.6);
    const finished = lines.find((l) => l.msg === "graph run finished");
    expect(finished).toMatchObject({
      cost_usd: first + second,
      llm_calls: 2,
      input_tokens: 3000,
      output_tokens: 30,
      cache_read_tokens: 1500,
    });
    expect(await sum(metrics, "langgraph_llm_run_cost_usd_sum")).toBe(first + second);
  });
});

describe("every streaming entry point records time to first chunk", () => {
  const graphOf = (node: (s: typeof MessagesAnnotation.State) => Promise<typeof MessagesAnnotation.Update>) =>
    new StateGraph(MessagesAnnotation).addNode("call_model", node).addEdge("__start__", "call_model").compile();

  it("a node that calls model.stream()", async () => {
    provider.enqueue({ reply: { text: "hello world", firstChunkDelayMs: FIRST_CHUNK_DELAY_MS } });
    const metrics = createMetrics();
    const model = chatOpenAI(provider);
    const app = instrument(
      graphOf(async (state) => {
        let text = "";
        for await (const chunk of await model.stream(state.messages)) text += String(chunk.content);
        return { messages: [{ role: "assistant", content: text }] };
      }),
      { metrics, name: "costed" },
    );
    await app.invoke({ messages: [new HumanMessage("hi")] });
    expect((await buckets(metrics, TTFC, "gpt-4o-mini")).get(bucketOf(FIRST_CHUNK_DELAY_MS / 1000))).toBe(1);
  });

  it("streamEvents on a graph whose node calls model.invoke()", async () => {
    provider.enqueue({ reply: { text: "hello world", firstChunkDelayMs: FIRST_CHUNK_DELAY_MS } });
    const metrics = createMetrics();
    const model = chatAnthropic(provider);
    const app = instrument(
      graphOf(async (state) => ({ messages: [await model.invoke(state.messages)] })),
      { metrics, name: "costed" },
    );
    for await (const _ of app.streamEvents({ messages: [new HumanMessage("hi")] }, { version: "v2" })) void _;
    expect(provider.requests[0]?.stream).toBe(true);
    expect((await buckets(metrics, TTFC, "claude-sonnet-4-5")).get(bucketOf(FIRST_CHUNK_DELAY_MS / 1000))).toBe(1);
  });

  it("a tool-call answer: the first tool-call fragment is the first chunk", async () => {
    provider.enqueue({ reply: { toolCalls: [{ name: "lookup", args: { q: "x" } }], firstChunkDelayMs: FIRST_CHUNK_DELAY_MS } });
    const metrics = createMetrics();
    await runOnce(chatOpenAI(provider), "messages", metrics);
    expect((await buckets(metrics, TTFC, "gpt-4o-mini")).get(bucketOf(FIRST_CHUNK_DELAY_MS / 1000))).toBe(1);
  });
});
