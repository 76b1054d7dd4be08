/**
 * Bounded memory: every span the kit starts is ended, on every path (success, error, interrupt, abandoned stream,
 * abort), and the run table is empty after 10,000 runs. The 10,000-run soak takes LangGraph itself a minute or
 * more on a busy machine; eight runs are kept in flight at once so the table is also exercised concurrently.
 */
import type { Context } from "@opentelemetry/api";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { Annotation, interrupt, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedChatModel, searchTool } from "../bench/tracing-fixtures.js";
import { GRAPH_NAME_METADATA_KEY } from "../src/core/events.js";
import { createLogger, createLoggingHandler } from "../src/observability/logging.js";
import { createTracingHandler } from "../src/observability/tracing/handler.js";
import { openRunCount, sweepAbandoned } from "../src/observability/tracing/registry.js";
import { STREAM_CANCEL_STOPS_RUN } from "./support/langgraph-version.js";

/** Counts span starts and ends, and remembers spans that did not end. */
class Ledger implements SpanProcessor {
  started = 0;
  ended = 0;
  readonly open = new Set<Span>();
  readonly statuses = new Map<string, number>();
  onStart(span: Span, _parent: Context): void {
    this.started++;
    this.open.add(span);
  }
  onEnd(span: ReadableSpan): void {
    this.ended++;
    this.open.delete(span as Span);
    const status = String(span.attributes["langgraph.run.status"] ?? "");
    if (status !== "") this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

const ledger = new Ledger();
const provider = new NodeTracerProvider({ spanProcessors: [ledger] });
beforeAll(() => {
  provider.register();
});
afterAll(async () => {
  await provider.shutdown();
});

const S = Annotation.Root({
  mode: Annotation<string>({ reducer: (_a, b) => b, default: () => "ok" }),
  n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
});
type State = typeof S.State;

const model = new ScriptedChatModel();

function buildGraph(withModel: boolean) {
  const builder = new StateGraph(S)
    .addNode("llm", async (_s: State, config) => {
      if (withModel) {
        await model.invoke([new HumanMessage("hi")], config);
        await searchTool.invoke({ query: "x" }, config);
      }
      return { n: 1 };
    })
    .addNode("decide", (s: State) => {
      if (s.mode === "error") throw new RangeError("nope");
      if (s.mode === "interrupt") interrupt("?");
      return { n: 2 };
    })
    .addEdge(START, "llm")
    .addEdge("llm", "decide");
  return { plain: builder.compile(), saved: builder.compile({ checkpointer: new MemorySaver() }) };
}

describe("bounded memory", () => {
  it("10,000 runs with every ending path leave no open span and an empty run table", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", destination: { write: (s: string) => void lines.push(s) } });
    const logging = createLoggingHandler(logger, "memory");
    const bind = <G extends { withConfig(c: Record<string, unknown>): unknown }>(g: G) =>
      g.withConfig({ callbacks: [tracing, logging], metadata: { [GRAPH_NAME_METADATA_KEY]: "memory" } }) as G;
    const tracing = createTracingHandler("memory", true);
    const RUNS = 10_000;
    const startedBefore = ledger.started;
    for (const withModel of [true, false]) {
      const { plain, saved } = buildGraph(withModel);
      const [graph, checkpointed] = [bind(plain), bind(saved)];
      // Model and tool runs on the first 400, then the cheap graph to reach 10,000 runs in seconds.
      const runs = withModel ? 400 : RUNS - 400;
      const one = async (i: number) => {
        switch (i % 4) {
          case 0:
            await graph.invoke({ mode: "ok" });
            break;
          case 1:
            await graph.invoke({ mode: "error" }).catch(() => undefined);
            break;
          case 2:
            await checkpointed.invoke({ mode: "interrupt" }, { configurable: { thread_id: `m-${withModel}-${i}` } });
            break;
          default:
            // Abandoned mid-stream: the caller stops reading after the first update.
            for await (const _chunk of await graph.stream({ mode: "ok" })) break;
        }
      };
      for (let i = 0; i < runs; i += 8) {
        await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((k) => one(i + k)));
        lines.length = 0;
      }
    }
    // Abandoned streams finish their cancellation asynchronously.
    for (let i = 0; i < 100 && (ledger.open.size > 0 || openRunCount() > 0); i++) await new Promise((r) => setTimeout(r, 10));
    expect(ledger.started - startedBefore).toBeGreaterThan(RUNS * 2);
    expect([...ledger.open].map((s) => (s as unknown as ReadableSpan).name)).toEqual([]);
    expect(ledger.ended).toBe(ledger.started);
    expect(openRunCount()).toBe(0);
    expect((logging as unknown as { openRuns: number }).openRuns).toBe(0);
    // Before LangGraph 1.7.3 an abandoned stream's run goes on to succeed; either way every run ends exactly once.
    const abandoned = STREAM_CANCEL_STOPS_RUN ? "cancelled" : "success";
    expect(ledger.statuses.get("success")).toBe(abandoned === "success" ? RUNS / 2 : RUNS / 4);
    expect(ledger.statuses.get("error")).toBe(RUNS / 4);
    expect(ledger.statuses.get("interrupted")).toBe(RUNS / 4);
    expect(ledger.statuses.get("cancelled") ?? 0).toBe(abandoned === "cancelled" ? RUNS / 4 : 0);
  }, 600_000);

  it("an aborted run ends its spans as cancelled", async () => {
    const graph = new StateGraph(S)
      .addNode("wait", async (_s: State, config) => {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, 10_000);
          config.signal?.addEventListener("abort", () => {
            clearTimeout(t);
            reject(config.signal?.reason);
          });
        });
        return {};
      })
      .addEdge(START, "wait")
      .compile()
      .withConfig({ callbacks: [createTracingHandler("abort", true)] });
    const controller = new AbortController();
    const run = graph.invoke({}, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 50));
    expect(openRunCount()).toBe(2);
    controller.abort();
    await expect(run).rejects.toThrow();
    for (let i = 0; i < 100 && openRunCount() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(openRunCount()).toBe(0);
    expect(ledger.open.size).toBe(0);
  });

  it("a run whose end callback never arrives is ended as abandoned by the sweep", () => {
    const handler = createTracingHandler("lost", { abandonAfterMs: 60_000 });
    const before = ledger.ended;
    // A LangChain callback sequence cut short: the root and a node started, nothing ended.
    handler.handleChainStart?.(
      { lc: 1, type: "not_implemented", id: ["langgraph", "CompiledStateGraph"] },
      {},
      "root-run",
      undefined,
      [],
      {},
    );
    handler.handleChainStart?.(
      { lc: 1, type: "not_implemented", id: ["RunnableSequence"] },
      {},
      "node-run",
      "root-run" as never,
      ["graph:step:1"] as never,
      { langgraph_node: "a" } as never,
      undefined,
      "a" as never,
    );
    expect(openRunCount()).toBe(2);
    expect(sweepAbandoned(Date.now() + 30_000)).toBe(0);
    expect(sweepAbandoned(Date.now() + 61_000)).toBe(2);
    expect(openRunCount()).toBe(0);
    expect(ledger.ended - before).toBe(2);
  });

  it("a chat model that never answers still has its span ended by the sweep, with no effect on other runs", async () => {
    const handler = createTracingHandler("llm-lost", { abandonAfterMs: 1000 });
    handler.handleChatModelStart?.({ lc: 1, type: "not_implemented", id: ["x"] }, [[new AIMessage("x")]], "llm-run");
    expect(openRunCount()).toBe(1);
    expect(sweepAbandoned(Date.now() + 1001)).toBe(1);
    expect(openRunCount()).toBe(0);
  });
});
