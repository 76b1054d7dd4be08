import { getEventListeners } from "node:events";
import { Annotation, MemorySaver, StateGraph } from "@langchain/langgraph";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { createMetrics, instrument, resilient } from "../src/index.js";
import { openRunCount } from "../src/observability/tracing/registry.js";
import { sum } from "./metrics-fixtures.js";

const S = Annotation.Root({ n: Annotation<number>() });

describe("a run cancelled by its caller's signal", () => {
  it.each([
    ["a plain node", false],
    ["a resilient node", true],
  ])("is counted cancelled, leaves nothing in flight and ends its spans (%s)", async (_name, wrapped) => {
    const metrics = createMetrics();
    let abort: () => void = () => undefined;
    const node = async (_s: typeof S.State, config: LangGraphRunnableConfig): Promise<Partial<typeof S.State>> => {
      abort();
      return new Promise((_r, reject) => {
        const signal = config.signal as AbortSignal;
        if (signal.aborted) reject(signal.reason);
        else signal.addEventListener("abort", () => reject(signal.reason));
      });
    };
    const graph = instrument(
      new StateGraph(S)
        .addNode("work", wrapped ? resilient(node, { timeout: 1000, retry: { retries: 2, minDelayMs: 1 } }) : node)
        .addEdge("__start__", "work")
        .compile({ checkpointer: new MemorySaver() }),
      { metrics, tracing: true, name: "cancel-me" },
    );
    const openBefore = openRunCount();
    for (let i = 0; i < 3; i += 1) {
      const controller = new AbortController();
      abort = () => controller.abort(new Error("client went away"));
      await expect(graph.invoke({ n: 0 }, { configurable: { thread_id: `c${i}` }, signal: controller.signal })).rejects.toThrow(
        "client went away",
      );
    }
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "cancel-me", status: "cancelled" })).toBe(3);
    expect(await sum(metrics, "langgraph_graph_runs_total", { graph: "cancel-me", status: "error" })).toBe(0);
    expect(await sum(metrics, "langgraph_graph_runs_in_flight", { graph: "cancel-me" })).toBe(0);
    expect(openRunCount()).toBe(openBefore);
  });

  it("lets go of a long-lived caller signal once each run ends", async () => {
    const build = () =>
      new StateGraph(S)
        .addNode("work", async () => ({ n: 1 }))
        .addEdge("__start__", "work")
        .compile({ checkpointer: new MemorySaver() });
    const count = async (graph: { invoke(i: unknown, c: unknown): Promise<unknown> }): Promise<number> => {
      const shared = new AbortController();
      for (let i = 0; i < 20; i += 1) await graph.invoke({ n: 0 }, { configurable: { thread_id: `s${i}` }, signal: shared.signal });
      return getEventListeners(shared.signal, "abort").length;
    };
    const bare = await count(build());
    const instrumented = await count(instrument(build(), { metrics: createMetrics(), tracing: true }));
    expect(instrumented).toBe(bare);
  });
});
