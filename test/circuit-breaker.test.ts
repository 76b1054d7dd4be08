import { Annotation, MemorySaver, StateGraph } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import {
  CHANNELS,
  CircuitOpenError,
  type BreakerStateChangeEvent,
  createCircuitBreaker,
  resilient,
  subscribe,
  withCircuitBreaker,
} from "../src/index.js";
import { waitFor } from "./support/ports.js";
import { fakeClock, httpError, oneNodeGraph, threadConfig, type TestNode } from "./support/graph.js";

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

function switchable() {
  const state = { failing: true, calls: 0 };
  const node: TestNode = async () => {
    state.calls += 1;
    if (state.failing) throw httpError(503);
    return { result: "ok" };
  };
  return { node, state };
}

describe("circuit breaker on a compiled graph", () => {
  it("opens at the failure rate once the volume is reached, then rejects without calling the node", async () => {
    let now = 1_000_000;
    const breaker = createCircuitBreaker({
      name: "opens",
      volumeThreshold: 4,
      errorThresholdPercentage: 50,
      resetTimeout: 30_000,
      now: () => now,
    });
    stops.push(() => breaker.shutdown());
    const { node, state } = switchable();
    const graph = oneNodeGraph(withCircuitBreaker(node, breaker));
    for (let i = 0; i < 3; i += 1) {
      await expect(graph.invoke({ requestId: "a" }, threadConfig())).rejects.toMatchObject({ status: 503 });
      expect(breaker.state).toBe("closed"); // below volumeThreshold
    }
    await expect(graph.invoke({ requestId: "a" }, threadConfig())).rejects.toMatchObject({ status: 503 });
    expect(breaker.state).toBe("open");
    expect(state.calls).toBe(4);

    now += 10_000;
    const rejection = await graph.invoke({ requestId: "a" }, threadConfig()).catch((e: unknown) => e);
    expect(rejection).toBeInstanceOf(CircuitOpenError);
    expect((rejection as CircuitOpenError).retryAfterMs).toBe(20_000);
    expect((rejection as CircuitOpenError).breaker).toBe("opens");
    expect(state.calls).toBe(4);
  });

  it("half-opens after resetTimeout; a successful probe closes it, a failed one re-opens it", async () => {
    const breaker = createCircuitBreaker({ name: "half-open", volumeThreshold: 2, resetTimeout: 60 });
    stops.push(() => breaker.shutdown());
    const transitions: string[] = [];
    stops.push(subscribe(CHANNELS.breakerStateChange, (e: BreakerStateChangeEvent) => e.breaker === "half-open" && transitions.push(e.to)));
    const { node, state } = switchable();
    const graph = oneNodeGraph(withCircuitBreaker(node, breaker));
    for (let i = 0; i < 2; i += 1) await graph.invoke({ requestId: "a" }, threadConfig()).catch(() => undefined);
    expect(breaker.state).toBe("open");

    await waitFor(async () => breaker.state === "half_open", 5000, "half-open");
    await expect(graph.invoke({ requestId: "a" }, threadConfig())).rejects.toMatchObject({ status: 503 }); // failed probe
    expect(breaker.state).toBe("open");

    await waitFor(async () => breaker.state === "half_open", 5000, "half-open again");
    state.failing = false;
    const out = await graph.invoke({ requestId: "a" }, threadConfig());
    expect(out.result).toBe("ok");
    expect(breaker.state).toBe("closed");
    expect(transitions).toEqual(["open", "half_open", "open", "half_open", "closed"]);
  });

  it("lets exactly one probe through while half-open", async () => {
    const breaker = createCircuitBreaker({ name: "one-probe", volumeThreshold: 1, resetTimeout: 40 });
    stops.push(() => breaker.shutdown());
    await breaker.execute(() => Promise.reject(httpError(500))).catch(() => undefined);
    await waitFor(async () => breaker.state === "half_open", 5000, "half-open");
    let release: (() => void) | undefined;
    const probe = breaker.execute(() => new Promise<string>((r) => (release = () => r("probe ok"))));
    const second = await breaker.execute(async () => "second").catch((e: unknown) => e);
    expect(second).toBeInstanceOf(CircuitOpenError);
    release?.();
    expect(await probe).toBe("probe ok");
    expect(breaker.state).toBe("closed");
  });

  it("is shared by two nodes through createCircuitBreaker", async () => {
    const provider = createCircuitBreaker({ name: "shared-provider", volumeThreshold: 3 });
    stops.push(() => provider.shutdown());
    const State = Annotation.Root({ plan: Annotation<string>(), answer: Annotation<string>() });
    let planCalls = 0;
    let answerCalls = 0;
    const plan = withCircuitBreaker(async () => {
      planCalls += 1;
      throw httpError(502);
    }, provider);
    const answer = withCircuitBreaker(async () => {
      answerCalls += 1;
      return { answer: "hi" };
    }, provider);
    const planner = new StateGraph(State)
      .addNode("plan_step", plan)
      .addEdge("__start__", "plan_step")
      .compile({ checkpointer: new MemorySaver() });
    const answerer = new StateGraph(State)
      .addNode("answer_step", answer)
      .addEdge("__start__", "answer_step")
      .compile({ checkpointer: new MemorySaver() });
    for (let i = 0; i < 3; i += 1) await planner.invoke({}, threadConfig()).catch(() => undefined);
    expect(provider.state).toBe("open");
    await expect(answerer.invoke({}, threadConfig())).rejects.toBeInstanceOf(CircuitOpenError);
    expect(planCalls).toBe(3);
    expect(answerCalls).toBe(0);
  });

  it("does not count client errors (4xx) against the dependency", async () => {
    const breaker = createCircuitBreaker({ name: "client-errors", volumeThreshold: 2, errorThresholdPercentage: 1 });
    stops.push(() => breaker.shutdown());
    for (let i = 0; i < 10; i += 1) await breaker.execute(() => Promise.reject(httpError(400))).catch(() => undefined);
    expect(breaker.state).toBe("closed");
  });

  it("retry never hammers an open breaker: no budget, no wait, no call", async () => {
    const breaker = createCircuitBreaker({ name: "no-hammer", volumeThreshold: 1 });
    stops.push(() => breaker.shutdown());
    await breaker.execute(() => Promise.reject(httpError(500))).catch(() => undefined);
    const clock = fakeClock();
    let calls = 0;
    const wrapped = resilient(
      async () => {
        calls += 1;
        return { result: "x" };
      },
      { retry: { retries: 10, clock }, circuitBreaker: breaker },
    );
    await expect(oneNodeGraph(wrapped).invoke({ requestId: "a" }, threadConfig())).rejects.toBeInstanceOf(CircuitOpenError);
    expect(calls).toBe(0);
    expect(clock.sleeps).toEqual([]);
  });

  it("retry waits for half-open when retryAfterMs fits in maxElapsedMs, then probes once", async () => {
    let now = 0;
    const breaker = createCircuitBreaker({ name: "wait-for-probe", volumeThreshold: 1, resetTimeout: 100, now: () => now });
    stops.push(() => breaker.shutdown());
    await breaker.execute(() => Promise.reject(httpError(500))).catch(() => undefined);
    expect(breaker.state).toBe("open");
    let calls = 0;
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
        sleeps.push(ms);
        await waitFor(async () => breaker.state === "half_open", 10_000, "half-open").catch(() => undefined);
      },
    };
    const sleeps: number[] = [];
    const wrapped = resilient(
      async () => {
        calls += 1;
        return { result: "probe" };
      },
      { retry: { retries: 3, maxElapsedMs: 20_000, minDelayMs: 50, clock }, circuitBreaker: breaker },
    );
    const out = await oneNodeGraph(wrapped).invoke({ requestId: "a" }, threadConfig());
    expect(out.result).toBe("probe");
    expect(sleeps).toEqual([100]);
    expect(calls).toBe(1);
    expect(breaker.state).toBe("closed");
  });
});

describe("one live breaker per name", () => {
  it("returns the live breaker for a second creation with equal options, so both callers share its state", async () => {
    const first = createCircuitBreaker({ name: "dup-equal", volumeThreshold: 2, resetTimeout: 60_000 });
    stops.push(() => first.shutdown());
    const second = createCircuitBreaker({ name: "dup-equal", volumeThreshold: 2, resetTimeout: 60_000 });
    expect(second).toBe(first);
    for (let i = 0; i < 2; i += 1) await expect(first.execute(() => Promise.reject(httpError(503)))).rejects.toMatchObject({ status: 503 });
    expect(second.state).toBe("open");
  });

  it("throws a TypeError naming the name and the differing options while the first is alive", () => {
    const first = createCircuitBreaker({ name: "dup-differ", volumeThreshold: 2 });
    stops.push(() => first.shutdown());
    expect(() => createCircuitBreaker({ name: "dup-differ", volumeThreshold: 3 })).toThrow(
      /createCircuitBreaker\(options\): a circuit breaker named "dup-differ" already exists with other options \(volumeThreshold\)/,
    );
    expect(() => createCircuitBreaker({ name: "dup-differ", volumeThreshold: 2, isFailure: () => true })).toThrow(TypeError);
    // Through the wrapper's options too: the node-named breaker is the same registry.
    expect(() => withCircuitBreaker(async () => ({}), { name: "dup-differ", resetTimeout: 5 })).toThrow(
      /^withCircuitBreaker\(options\): a circuit breaker named "dup-differ" already exists with other options \(volumeThreshold, resetTimeout\)/,
    );
  });

  it("frees the name on shutdown(): a new breaker with other options starts closed", async () => {
    const first = createCircuitBreaker({ name: "dup-freed", volumeThreshold: 1 });
    await expect(first.execute(() => Promise.reject(httpError(503)))).rejects.toMatchObject({ status: 503 });
    expect(first.state).toBe("open");
    first.shutdown();
    const second = createCircuitBreaker({ name: "dup-freed", volumeThreshold: 5 });
    stops.push(() => second.shutdown());
    expect(second).not.toBe(first);
    expect(second.state).toBe("closed");
    await expect(second.execute(() => "ok")).resolves.toBe("ok");
  });
});
