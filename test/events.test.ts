import { afterEach, describe, expect, it } from "vitest";
import {
  CHANNELS,
  type ChannelName,
  GRAPH_NAME_METADATA_KEY,
  InMemoryIdempotencyStore,
  createCircuitBreaker,
  createMetrics,
  instrument,
  labelsOf,
  resilient,
  subscribe,
  withBulkhead,
  withRetry,
} from "../src/index.js";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { fakeClock, httpError, oneNodeGraph, threadConfig, type TestNode, type TestStateType } from "./support/graph.js";

const received: Array<{ channel: string; payload: Record<string, unknown> }> = [];
const stops: Array<() => void> = [];
function listen(...names: ChannelName[]): void {
  for (const name of names)
    stops.push(subscribe(name, (payload) => received.push({ channel: name, payload: payload as unknown as Record<string, unknown> })));
}
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  received.length = 0;
});
const on = (channel: string) => received.filter((r) => r.channel === channel).map((r) => r.payload);
const named = (node: TestNode) => oneNodeGraph(node).withConfig({ metadata: { [GRAPH_NAME_METADATA_KEY]: "support-agent" } });

describe("wrapper events on node:diagnostics_channel", () => {
  it("publishes retries, exhaustion and fallback with graph and node labels from the run config", async () => {
    listen(CHANNELS.retry, CHANNELS.retriesExhausted, CHANNELS.fallback);
    const node: TestNode = async () => {
      throw httpError(429, { "retry-after": "1" });
    };
    const graph = named(resilient(node, { retry: { retries: 2, clock: fakeClock() }, fallback: () => ({ result: "fb" }) }));
    await graph.invoke({ requestId: "a" }, threadConfig());
    const retries = on(CHANNELS.retry);
    expect(retries.map((r) => [r.graph, r.node, r.attempt, r.delayMs, r.serverDelay, r.reason])).toEqual([
      ["support-agent", "work", 1, 1000, true, "rate_limited"],
      ["support-agent", "work", 2, 1000, true, "rate_limited"],
    ]);
    expect(on(CHANNELS.retriesExhausted).map((e) => [e.graph, e.node, e.attempts])).toEqual([["support-agent", "work", 3]]);
    expect(on(CHANNELS.fallback).map((e) => [e.graph, e.node])).toEqual([["support-agent", "work"]]);
  });

  it("publishes timeouts", async () => {
    listen(CHANNELS.timeout);
    const hang: TestNode = () => new Promise(() => undefined);
    await named(resilient(hang, { timeout: 20 }))
      .invoke({ requestId: "a" }, threadConfig())
      .catch(() => undefined);
    expect(on(CHANNELS.timeout).map((e) => [e.graph, e.node, e.timeoutMs])).toEqual([["support-agent", "work", 20]]);
  });

  it("publishes breaker creation, transitions and rejections", async () => {
    listen(CHANNELS.breakerCreated, CHANNELS.breakerStateChange, CHANNELS.breakerRejected);
    const breaker = createCircuitBreaker({ name: "events-breaker", volumeThreshold: 1 });
    const graph = named(
      resilient(
        async () => {
          throw httpError(500);
        },
        { circuitBreaker: breaker },
      ),
    );
    await graph.invoke({ requestId: "a" }, threadConfig()).catch(() => undefined);
    await graph.invoke({ requestId: "a" }, threadConfig()).catch(() => undefined);
    breaker.shutdown();
    expect(on(CHANNELS.breakerCreated)).toContainEqual({ breaker: "events-breaker", state: "closed" });
    expect(on(CHANNELS.breakerStateChange)).toContainEqual({ breaker: "events-breaker", from: "closed", to: "open" });
    const rejections = on(CHANNELS.breakerRejected);
    expect(rejections.map((r) => [r.breaker, r.graph, r.node])).toEqual([["events-breaker", "support-agent", "work"]]);
  });

  it("publishes idempotency miss, hit and conflict", async () => {
    listen(CHANNELS.idempotency);
    const store = new InMemoryIdempotencyStore();
    let release: (() => void) | undefined;
    const node: TestNode = async () => {
      await new Promise<void>((r) => (release = r));
      return { result: "x" };
    };
    const graph = named(resilient(node, { idempotency: { store, key: (s: TestStateType) => s.requestId, waitMs: 30 } }));
    const first = graph.invoke({ requestId: "k" }, threadConfig());
    await new Promise((r) => setTimeout(r, 10));
    await graph.invoke({ requestId: "k" }, threadConfig()).catch(() => undefined);
    release?.();
    await first;
    await graph.invoke({ requestId: "k" }, threadConfig());
    expect(on(CHANNELS.idempotency).map((e) => [e.result, e.graph, e.node, e.operation])).toEqual([
      ["miss", "support-agent", "work", "node"],
      ["conflict", "support-agent", "work", "node"],
      ["hit", "support-agent", "work", "node"],
    ]);
  });

  it("publishes bulkhead rejections", async () => {
    listen(CHANNELS.bulkheadRejected);
    const node = withBulkhead(() => new Promise(() => undefined), { limit: 1 });
    void node({}, { metadata: { [GRAPH_NAME_METADATA_KEY]: "g", langgraph_node: "n" } });
    await node({}, { metadata: { [GRAPH_NAME_METADATA_KEY]: "g", langgraph_node: "n" } }).catch(() => undefined);
    expect(on(CHANNELS.bulkheadRejected).map((e) => [e.graph, e.node, e.limit, e.queue])).toEqual([["g", "n", 1, 0]]);
  });

  it("a throwing subscriber never fails the node", async () => {
    stops.push(
      subscribe(CHANNELS.retry, () => {
        throw new Error("broken observer");
      }),
    );
    let calls = 0;
    const node: TestNode = async () => {
      calls += 1;
      if (calls === 1) throw httpError(503);
      return { result: "ok" };
    };
    const out = await named(resilient(node, { retry: { clock: fakeClock() } })).invoke({ requestId: "a" }, threadConfig());
    expect(out.result).toBe("ok");
  });

  it("takes the graph label from instrument()'s handler, without adding metadata to the run", async () => {
    listen(CHANNELS.retry);
    const seenMetadata: Array<Record<string, unknown>> = [];
    let calls = 0;
    const node: TestNode = async (_s, config) => {
      seenMetadata.push({ ...(config.metadata ?? {}) });
      calls += 1;
      if (calls === 1) throw httpError(503);
      return { result: "ok" };
    };
    const graph = instrument(oneNodeGraph(withRetry(node, { clock: fakeClock() })), { metrics: createMetrics(), name: "support-agent" });
    await graph.invoke({ requestId: "a" }, threadConfig());
    expect(on(CHANNELS.retry).map((e) => [e.graph, e.node])).toEqual([["support-agent", "work"]]);
    expect(seenMetadata.every((m) => !(GRAPH_NAME_METADATA_KEY in m))).toBe(true);
    // Set by the application, the metadata key wins over the handler.
    received.length = 0;
    calls = 0;
    await graph.invoke({ requestId: "b" }, { ...threadConfig(), metadata: { [GRAPH_NAME_METADATA_KEY]: "named-in-metadata" } });
    expect(on(CHANNELS.retry).map((e) => e.graph)).toEqual(["named-in-metadata"]);
  });

  it("labels a node of an instrumented subgraph with the outermost instrumented graph", async () => {
    const State = Annotation.Root({ n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }) });
    const labels: string[] = [];
    const leaf = (s: typeof State.State, config: unknown) => {
      labels.push(labelsOf(config as never).graph);
      return { n: s.n + 1 };
    };
    const inner = instrument(new StateGraph(State).addNode("leaf", leaf).addEdge(START, "leaf").addEdge("leaf", END).compile(), {
      metrics: createMetrics(),
      name: "inner",
    });
    const outer = instrument(new StateGraph(State).addNode("sub", inner).addEdge(START, "sub").addEdge("sub", END).compile(), {
      metrics: createMetrics(),
      name: "outer",
    });
    await inner.invoke({ n: 0 });
    await outer.invoke({ n: 0 });
    expect(labels).toEqual(["inner", "outer"]);
    expect(labelsOf({ metadata: { langgraph_node: "x" } }).graph).toBe("unknown");
  });
});

describe("public surface", () => {
  it("exports the trace.export channel and its payload type, and no test-only or internal pieces", async () => {
    const api: Record<string, unknown> = await import("../src/index.js");
    expect(api.CHANNELS).toMatchObject({ traceExport: "langgraph-ops:trace.export" });
    const payload: import("../src/index.js").TraceExportEvent = { exporter: "otlp", result: "failure", spans: 2, error: new Error("x") };
    expect(payload.result).toBe("failure");
    for (const name of ["decideRetry", "runWithTimeout", "MetricsCallbackHandler"]) expect(api, name).not.toHaveProperty(name);
  });
});
