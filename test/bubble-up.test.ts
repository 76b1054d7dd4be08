import { Annotation, Command, MemorySaver, StateGraph, interrupt } from "@langchain/langgraph";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import {
  createCircuitBreaker,
  resilient,
  withBulkhead,
  withCircuitBreaker,
  withFallback,
  withIdempotency,
  withRetry,
  withTimeout,
} from "../src/index.js";
import { fakeClock, oneNodeGraph, threadConfig, type TestNode } from "./support/graph.js";

type Wrap = (node: TestNode, fallbackCalls: { n: number }) => TestNode;

const wrappers: Array<[string, Wrap]> = [
  ["withRetry", (n) => withRetry(n, { clock: fakeClock() })],
  ["withTimeout", (n) => withTimeout(n, 5000)],
  ["withCircuitBreaker", (n) => withCircuitBreaker(n, { name: `bubble-${Math.random()}`, volumeThreshold: 1 })],
  ["withFallback", (n, f) => withFallback(n, () => ((f.n += 1), { result: "fallback" }))],
  ["withBulkhead", (n) => withBulkhead(n, { limit: 1 })],
  ["withIdempotency", (n) => withIdempotency(n)],
  [
    "resilient (all policies)",
    (n, f) =>
      resilient(n, {
        timeout: 5000,
        retry: { clock: fakeClock() },
        circuitBreaker: { name: `bubble-all-${Math.random()}`, volumeThreshold: 1 },
        bulkhead: { limit: 2 },
        idempotency: true,
        fallback: () => ((f.n += 1), { result: "fallback" }),
      }),
  ],
];

describe.each(wrappers)("%s lets interrupts through", (_name, wrap) => {
  it("does not retry, count or fall back, and the graph resumes with Command({ resume })", async () => {
    let calls = 0;
    const fallbackCalls = { n: 0 };
    const approve: TestNode = async () => {
      calls += 1;
      const answer = interrupt({ question: "approve refund?" }) as string;
      return { result: `approved: ${answer}` };
    };
    const graph = oneNodeGraph(wrap(approve, fallbackCalls));
    const config = threadConfig();
    const first = await graph.invoke({ requestId: "r" }, config);
    expect((first as Record<string, unknown>).__interrupt__).toHaveLength(1);
    expect(calls).toBe(1);
    expect(fallbackCalls.n).toBe(0);
    const resumed = await graph.invoke(new Command({ resume: "yes" }), config);
    expect(resumed.result).toBe("approved: yes");
    expect(calls).toBe(2);
    expect(fallbackCalls.n).toBe(0);
  });
});

describe("interrupts and the breaker", () => {
  it("never opens the breaker, however many interrupts", async () => {
    const breaker = createCircuitBreaker({ name: "interrupt-count", volumeThreshold: 1, errorThresholdPercentage: 1 });
    const graph = oneNodeGraph(
      withCircuitBreaker(async () => {
        interrupt("wait");
        return {};
      }, breaker),
    );
    for (let i = 0; i < 5; i += 1) await graph.invoke({ requestId: "r" }, threadConfig());
    expect(breaker.state).toBe("closed");
  });
});

describe("Command({ graph: Command.PARENT }) passes through wrappers", () => {
  it("navigates the parent graph instead of retrying or falling back", async () => {
    const State = Annotation.Root({
      route: Annotation<string>(),
      visited: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
    });
    let childCalls = 0;
    let triageCalls = 0;
    let fallbacks = 0;
    const policies = (name: string) => ({
      retry: { clock: fakeClock() },
      timeout: 5000,
      circuitBreaker: { name, volumeThreshold: 1 },
      fallback: () => ((fallbacks += 1), { route: "fallback" }),
    });
    const escalate = async (_s: typeof State.State, _c: LangGraphRunnableConfig): Promise<Command | { route: string }> => {
      childCalls += 1;
      return new Command({ graph: Command.PARENT, goto: "human", update: { route: "escalated" } });
    };
    const subgraph = new StateGraph(State)
      .addNode("escalate", resilient(escalate, policies("parent-command-child")), { ends: [] })
      .addEdge("__start__", "escalate")
      .compile();
    // The subgraph runs inside a wrapped function node, so LangGraph's ParentCommand crosses every wrapper.
    const triage = async (state: typeof State.State, config: LangGraphRunnableConfig) => {
      triageCalls += 1;
      return subgraph.invoke(state, config);
    };
    const parent = new StateGraph(State)
      .addNode("triage", resilient(triage, policies("parent-command-parent")), { ends: ["human"] })
      .addNode("human", async () => ({ visited: ["human"] }))
      .addEdge("__start__", "triage")
      .compile({ checkpointer: new MemorySaver() });
    const out = await parent.invoke({ route: "start" }, threadConfig());
    expect(out.route).toBe("escalated");
    expect(out.visited).toEqual(["human"]);
    expect(childCalls).toBe(1);
    expect(triageCalls).toBe(1);
    expect(fallbacks).toBe(0);
  });
});
