/**
 * A small instrumented LangGraph app that makes every metric family of the kit emit: an LLM node behind retry, a
 * shared breaker and a timeout; a tool; a slow node with timeout + fallback; a bulkhead; runOnce before a human
 * approval interrupt; a rate-limited step (requests and tokens per minute, its refusals served by a fallback); every fifth run gets a follow-up that queues for its thread (guardThreads); a span per run, exported through `reportExports` as exporter "otlp". `faults.on` makes the model
 * answer 503, which opens the breaker and fails runs; every fifth tool call fails regardless, every third checkpoint
 * write fails while faults are on, and while faults are on the spans go to a collector that is down.
 * While faults are on, the model call also passes a breaker shared through a `RedisBreakerStore` aimed at a loopback
 * port nothing listens on: the store's failed operations are counted and the breaker runs on its local window.
 * The stand-ins are the chat model and the healthy collector (an in-memory span exporter); the collector that is down
 * is a real OTLP/HTTP exporter aimed at a loopback port nothing listens on.
 */
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, type BaseMessage, HumanMessage, type UsageMetadata } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import { tool } from "@langchain/core/tools";
import { Annotation, Command, END, interrupt, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { z } from "zod";
import * as kit from "../src/index.js";
import { reportExports } from "../src/integrations/otel.js";
import { RedisBreakerStore } from "../src/integrations/redis.js";
import type { Metrics } from "../src/observability/metrics.js";
import { freePort } from "./support/ports.js";

/** The fault switch shared by the model and the tool. */
export interface Faults {
  on: boolean;
}

/**
 * Prices for the workload's model: no `cache_write` rate, so the calls that write the prompt cache leave tokens
 * unpriced (and their runs out of the per-run cost histogram) while the others are costed in full.
 */
export const WORKLOAD_PRICES: kit.Prices = { "fake-large": { input: 2.5, cached_input: 1.25, output: 10 } };

/** A chat model that reports usage_metadata (cache reads; every other call a cache write), streams, and fails with HTTP 503 while faults are on. */
class FaultyChatModel extends BaseChatModel {
  #calls = 0;
  constructor(private readonly faults: Faults) {
    super({});
  }
  #usage(): UsageMetadata {
    this.#calls += 1;
    const details = this.#calls % 2 === 0 ? { cache_read: 80, cache_creation: 20 } : { cache_read: 80 };
    return { input_tokens: 120, output_tokens: 30, total_tokens: 150, input_token_details: details };
  }
  _llmType(): string {
    return "faulty";
  }
  override getLsParams(options: this["ParsedCallOptions"]) {
    return { ...super.getLsParams(options), ls_provider: "fakeai", ls_model_name: "fake-large" };
  }
  override invocationParams(): Record<string, unknown> {
    return { model: "fake-large" };
  }
  async _generate(_messages: BaseMessage[], _options: this["ParsedCallOptions"], _run?: CallbackManagerForLLMRun): Promise<ChatResult> {
    if (this.faults.on) throw Object.assign(new Error("upstream overloaded"), { status: 503 });
    const message = new AIMessage({ content: "ok", usage_metadata: this.#usage() });
    return { generations: [{ text: "ok", message }] };
  }
  override async *_streamResponseChunks(
    _messages: BaseMessage[],
    _options: this["ParsedCallOptions"],
    run?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    if (this.faults.on) throw Object.assign(new Error("upstream overloaded"), { status: 503 });
    for (const text of ["o", "k"]) {
      await sleep(2);
      const chunk = new ChatGenerationChunk({ message: new AIMessageChunk({ content: text }), text });
      yield chunk;
      await run?.handleLLMNewToken(text, undefined, undefined, undefined, undefined, { chunk });
    }
    yield new ChatGenerationChunk({ message: new AIMessageChunk({ content: "", usage_metadata: this.#usage() }), text: "" });
  }
}

/** An in-memory checkpointer whose every third write fails while faults are on (a database having trouble). */
class FaultySaver extends MemorySaver {
  putCount = 0;
  constructor(private readonly faults: Faults) {
    super();
  }
  override async put(...args: Parameters<MemorySaver["put"]>): ReturnType<MemorySaver["put"]> {
    this.putCount += 1;
    if (this.faults.on && this.putCount % 3 === 0) throw new Error("checkpoint store unavailable");
    return super.put(...args);
  }
}

/** A tracer provider that exports each span as it ends through `exporter`, reported as exporter "otlp" like `startTelemetry`'s. */
function tracingTo(exporter: SpanExporter): BasicTracerProvider {
  return new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(reportExports(exporter, "otlp"))] });
}

/** A collector that is down: an OTLP/HTTP exporter aimed at a loopback port that was free a moment ago (connection refused). */
async function deadCollector(): Promise<OTLPTraceExporter> {
  const port = await freePort();
  return new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces`, timeoutMillis: 500 });
}

/** Where the app's spans go: the healthy collector, or while faults are on the one that is down. */
interface TraceExport {
  /** The provider whose tracer a run starting now uses. */
  provider(): Promise<BasicTracerProvider>;
  /** Waits for every pending export, so the counts are final when a batch returns. */
  flush(): Promise<void>;
}

/** Both collectors behind the fault switch; the dead one's port is picked once, before the first run needs it. */
function createTraceExport(faults: Faults): TraceExport {
  const healthy = new InMemorySpanExporter();
  const up = tracingTo(healthy);
  const down = deadCollector().then(tracingTo);
  return {
    provider: async () => (faults.on ? down : up),
    flush: async () => {
      await up.forceFlush();
      // The flush rejects with the failed exports' error; reportExports has counted them by then.
      await (await down).forceFlush().catch(() => undefined);
      healthy.reset(); // the e2e test runs batches for minutes: keep no spans
    },
  };
}

const State = Annotation.Root({
  question: Annotation<string>(),
  approval: Annotation<boolean>(),
  answer: Annotation<string>(),
});
type S = typeof State.State;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The app: an instrumented graph plus a driver that runs batches of concurrent runs. */
export interface Workload {
  faults: Faults;
  /** Runs `concurrency` runs at once (every fourth asks for approval and is resumed); never throws. */
  batch(concurrency: number): Promise<void>;
}

/** Builds the app on `metrics`, as graph `graphName`, with a breaker named `breakerName`. */
export function createWorkload(metrics: Metrics, graphName = "support", breakerName = "fakeai"): Workload {
  const faults: Faults = { on: false };
  const model = new FaultyChatModel(faults);
  let lookups = 0;
  const lookup = tool(
    async ({ q }: { q: string }) => {
      lookups += 1;
      if (faults.on || lookups % 5 === 0) throw new Error("lookup backend down");
      return `found ${q.length}`;
    },
    { name: "lookup", description: "Looks something up.", schema: z.object({ q: z.string() }) },
  );
  const breaker = kit.createCircuitBreaker({
    name: breakerName,
    volumeThreshold: 4,
    errorThresholdPercentage: 50,
    resetTimeout: 400,
    rollingCountTimeout: 2000,
  });
  // Created at the first call with faults on, then kept: its fleet state gauge reads "unreachable" (all 0) from then on.
  let fleet: kit.CircuitBreaker | undefined;
  const fleetBreaker = (): kit.CircuitBreaker => {
    fleet ??= kit.createCircuitBreaker({
      name: `${breakerName}-fleet`,
      // Never opens: the alert tests expect the workload's one breaker ("fakeai") to be the one that opens.
      volumeThreshold: 1_000_000,
      // An idle breaker that lost its store stops trying; a long interval keeps retries to the calls with faults on.
      store: new RedisBreakerStore({ url: "redis://127.0.0.1:1", operationTimeoutMs: 200, flushIntervalMs: 60_000 }),
    });
    return fleet;
  };
  let slowCalls = 0;
  let modelCalls = 0;

  const callModel = kit.resilient(
    async (state: S, config: LangGraphRunnableConfig) => {
      // Every other call streams: time to first chunk is recorded for those only.
      modelCalls += 1;
      const streamed = modelCalls % 2 === 0;
      const messages = [new HumanMessage(state.question)];
      const call = async () => {
        if (!streamed) return String((await model.invoke(messages, config)).content);
        let text = "";
        for await (const chunk of await model.stream(messages, config)) text += String(chunk.content);
        return text;
      };
      return { answer: await (faults.on ? fleetBreaker().execute(call, config) : call()) };
    },
    { retry: { retries: 1, minDelayMs: 1, maxDelayMs: 2 }, circuitBreaker: breaker, timeout: 2000 },
  );
  const useTool = async (state: S, config: LangGraphRunnableConfig) => {
    try {
      await lookup.invoke({ q: state.question }, config);
    } catch {
      // a failed lookup is reported by the tool callbacks; the run goes on without it
    }
    return {};
  };
  const slow = kit.resilient(
    async (_s: S, config: LangGraphRunnableConfig) => {
      slowCalls += 1;
      if (slowCalls % 3 === 0) await sleep(40);
      config.signal?.throwIfAborted();
      return {};
    },
    { timeout: 15, fallback: () => ({}) },
  );
  const guarded = kit.resilient(
    async () => {
      await sleep(5);
      return {};
    },
    { bulkhead: { limit: 1, queue: 0 }, fallback: () => ({}) },
  );
  // 6000 requests/min (one per 10 ms) and a token budget: concurrent runs queue briefly, and past 5 ms are refused.
  const limited = kit.resilient(async () => ({}), {
    rateLimit: {
      name: `${graphName}-limit`,
      requestsPerMinute: 6000,
      tokensPerMinute: 600_000,
      maxWaitMs: 5,
    },
    fallback: () => ({}),
  });
  const approve = async (state: S, config: LangGraphRunnableConfig) => {
    if (!state.approval) return {};
    await kit.runOnce(config, "notify", async () => "sent");
    const decision = interrupt("approve?") as string;
    return { answer: `${state.answer} (${decision})` };
  };

  const traces = createTraceExport(faults);
  const checkpointer = kit.instrumentCheckpointer(new FaultySaver(faults), { metrics });
  const compiled = new StateGraph(State)
    .addNode("call_model", callModel)
    .addNode("use_tool", useTool)
    .addNode("slow_step", slow)
    .addNode("guarded", guarded)
    .addNode("rate_limited", limited)
    .addNode("approve", approve)
    .addEdge(START, "call_model")
    .addEdge("call_model", "use_tool")
    .addEdge("use_tool", "slow_step")
    .addEdge("slow_step", "guarded")
    .addEdge("guarded", "rate_limited")
    .addEdge("rate_limited", "approve")
    .addEdge("approve", END)
    .compile({ checkpointer });
  // One run per thread; a follow-up on a busy thread waits its turn (the thread-lock series and the wait histogram).
  const threadLocks = new kit.InMemoryThreadLockStore();
  const graph = kit.instrument(kit.guardThreads(compiled, { store: threadLocks, strategy: "reject" }), { metrics, name: graphName });
  const followUps = kit.instrument(kit.guardThreads(compiled, { store: threadLocks, strategy: "enqueue", waitMs: 10_000 }), {
    metrics,
    name: graphName,
  });

  let runs = 0;
  const one = async (): Promise<void> => {
    runs += 1;
    const config = { configurable: { thread_id: `t-${runs}` } };
    const approval = runs % 4 === 0;
    const span = (await traces.provider()).getTracer("workload").startSpan(graphName);
    try {
      const first = graph.invoke({ question: `question ${runs}`, approval }, config);
      const followUp = !approval && runs % 5 === 0 ? followUps.invoke({ question: `follow-up ${runs}`, approval }, config) : undefined;
      await Promise.allSettled([first, followUp]);
      await first;
      if (approval) await graph.invoke(new Command({ resume: "yes" }), config);
    } catch {
      // failed runs are what the faults are for; the metrics count them
    }
    span.end();
  };
  return {
    faults,
    batch: async (concurrency) => {
      await Promise.all(Array.from({ length: concurrency }, one));
      await traces.flush();
    },
  };
}
