/**
 * The callbacks a node's function gets when only the kit listens: chains inside the node are transparent (no run
 * manager, no callback), the LLM and tool calls they make report to the node run, a graph invoked inside the node is
 * a real run, and any other handler that joins sees LangChain's usual chain runs.
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { CallbackManager } from "@langchain/core/callbacks/manager";
import { HumanMessage } from "@langchain/core/messages";
import { RunnableLambda, RunnableSequence } from "@langchain/core/runnables";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ScriptedChatModel } from "../bench/tracing-fixtures.js";
import { twoNodeCounter } from "./support/graph.js";
import { instrument } from "../src/observability/instrument.js";
import { createMetrics } from "../src/observability/metrics.js";
import { NodeCallbackManager, nodeCallbacks } from "../src/observability/runs/node-callbacks.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
beforeAll(() => provider.register());
afterAll(() => provider.shutdown());
beforeEach(() => exporter.reset());

/** Records what LangChain tells a handler. */
class Recorder extends BaseCallbackHandler {
  name = "recorder";
  override awaitHandlers = true;
  readonly chains: { runId: string; parentRunId: string | undefined; name: string | undefined }[] = [];
  readonly llms: { runId: string; parentRunId: string | undefined; metadata: Record<string, unknown> | undefined }[] = [];
  override handleChainStart(
    chain: { id?: string[] },
    _i: unknown,
    runId: string,
    parentRunId?: string,
    _t?: string[],
    _m?: unknown,
    _r?: string,
    runName?: string,
  ): void {
    this.chains.push({ runId, parentRunId, name: runName ?? chain.id?.at(-1) });
  }
  override handleChatModelStart(
    _l: unknown,
    _m: unknown,
    runId: string,
    parentRunId?: string,
    _e?: unknown,
    _t?: string[],
    metadata?: Record<string, unknown>,
  ): void {
    this.llms.push({ runId, parentRunId, metadata });
  }
}

const serialized = (className: string) => ({ lc: 1, type: "not_implemented" as const, id: ["langchain", className] });

describe("NodeCallbackManager", () => {
  it("makes a chain run transparent when only the kit's handler listens: no callback, children report to the node run", async () => {
    const own = new Recorder();
    const manager = new NodeCallbackManager("node-run", own);
    manager.addMetadata({ langgraph_node: "agent" });
    const run = await manager.handleChainStart(serialized("RunnableSequence"), {});
    expect(own.chains).toEqual([]);
    const child = run.getChild("seq:step:1");
    expect(child).toBeInstanceOf(NodeCallbackManager);
    expect(child.getParentRunId()).toBe("node-run");
    expect(child.metadata).toEqual({ langgraph_node: "agent" });
    await run.handleChainEnd({});
    expect(own.chains).toEqual([]);
  });

  it("reports a graph invoked inside the node as a real run, so its nodes are node runs", async () => {
    const own = new Recorder();
    const run = await new NodeCallbackManager("node-run", own).handleChainStart(serialized("CompiledStateGraph"), {}, "inner-graph");
    expect(own.chains).toEqual([{ runId: "inner-graph", parentRunId: "node-run", name: "CompiledStateGraph" }]);
    expect(run.getChild()).not.toBeInstanceOf(NodeCallbackManager);
  });

  it("gives every chain a real run as soon as another handler joins", async () => {
    const own = new Recorder();
    const other = new Recorder();
    const copy = new NodeCallbackManager("node-run", own).copy([other]);
    expect(copy).not.toBeInstanceOf(NodeCallbackManager);
    await copy.handleChainStart(serialized("RunnableSequence"), {}, "seq");
    expect(other.chains).toEqual([{ runId: "seq", parentRunId: "node-run", name: "RunnableSequence" }]);
    expect(own.chains).toEqual(other.chains);

    const joined = new NodeCallbackManager("node-run", own).copy();
    joined.addHandler(other);
    await joined.handleChainStart(serialized("RunnableLambda"), {}, "lambda");
    expect(other.chains.at(-1)).toEqual({ runId: "lambda", parentRunId: "node-run", name: "RunnableLambda" });
  });

  it("is used only when LangGraph passed the node no callbacks", () => {
    const own = new Recorder();
    expect(nodeCallbacks(undefined, "n", own)).toBeInstanceOf(NodeCallbackManager);
    const other = new Recorder();
    const fromArray = nodeCallbacks([other], "n", own) as CallbackManager;
    expect(fromArray).not.toBeInstanceOf(NodeCallbackManager);
    expect(fromArray.handlers).toEqual([other, own]);
    const fromManager = nodeCallbacks(
      new CallbackManager("p", { handlers: [other], inheritableHandlers: [other] }),
      "n",
      own,
    ) as CallbackManager;
    expect(fromManager).not.toBeInstanceOf(NodeCallbackManager);
    expect(fromManager.handlers).toEqual([other, own]);
  });
});

const State = Annotation.Root({ n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }) });
type S = typeof State.State;

function parentName(spans: readonly ReadableSpan[], span: ReadableSpan | undefined): string | undefined {
  const id = span?.parentSpanContext?.spanId;
  return spans.find((s) => s.spanContext().spanId === id)?.name;
}

describe("calls inside an instrumented graph's node", () => {
  it("counts the LLM calls chains make, under the node, and a graph invoked in the node with its nodes", async () => {
    const model = new ScriptedChatModel();
    const chain = RunnableSequence.from([RunnableLambda.from((q: string) => [new HumanMessage(q)]), model]);
    const inner = twoNodeCounter();
    const joined = new Recorder();
    const graph = new StateGraph(State)
      .addNode("work", async (s: S, config) => {
        // With the node's config, and implicitly (LangChain reads the config the node runs under).
        await chain.invoke("weather?", config);
        await RunnableLambda.from(() => chain.invoke("again?")).invoke({});
        // Another handler joins: its chains are real runs.
        await chain.withConfig({ callbacks: [joined] }).invoke("third?", config);
        const out = await inner.invoke({ n: s.n });
        return { n: out.n };
      })
      .addEdge(START, "work")
      .addEdge("work", END)
      .compile();
    const metrics = createMetrics();
    const app = instrument(graph, { metrics, tracing: true, name: "calls" });
    expect(await app.invoke({ n: 0 })).toEqual({ n: 2 });
    await provider.forceFlush();

    const text = await metrics.text();
    expect(text).toMatch(/langgraph_node_executions_total\{graph="calls",node="work",status="success"\} 1\n/);
    expect(text).toMatch(/langgraph_node_executions_total\{graph="calls",node="a",status="success"\} 1\n/);
    expect(text).toMatch(/langgraph_node_executions_total\{graph="calls",node="b",status="success"\} 1\n/);
    expect(text).toMatch(/gen_ai_client_operation_duration_seconds_count\{[^}]*gen_ai_request_model="fake-gpt-4o-mini"[^}]*\} 3\n/);

    const spans = exporter.getFinishedSpans();
    const llmSpans = spans.filter((s) => s.name.startsWith("chat "));
    expect(llmSpans).toHaveLength(3);
    for (const span of llmSpans) expect(parentName(spans, span)).toBe("work");
    expect(
      parentName(
        spans,
        spans.find((s) => s.name === "a"),
      ),
    ).toBe("work");

    // The joined handler saw LangChain's usual runs: the sequence, its lambda, and the model call under them.
    expect(joined.chains.map((c) => c.name)).toEqual(["RunnableSequence", "RunnableLambda"]);
    expect(joined.llms).toHaveLength(1);
    expect(joined.llms[0]?.parentRunId).toBe(joined.chains[0]?.runId);
    expect(joined.llms[0]?.metadata?.ls_provider).toBe("openai");
  });
});
