/**
 * The real provider clients (`@langchain/openai`, `@langchain/anthropic`, `openai`, `@anthropic-ai/sdk`) against a fake
 * provider on 127.0.0.1 that answers with the providers' own error bodies and headers: what `classifyError` makes of
 * each fault, how many requests `resilient()` makes in a real LangGraph graph, and what a shared breaker does.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CircuitOpenError, RetriesExhaustedError, classifyError, createCircuitBreaker, resilient } from "../src/index.js";
import { type FakeProvider, startFakeProvider } from "./support/fake-provider.js";
import { fakeClock, oneNodeGraph, type TestNode, threadConfig } from "./support/graph.js";
import { API_OF, CLIENTS, type ClientName, callClient, FAULTS } from "./support/provider-faults.js";

let provider: FakeProvider;
beforeAll(async () => {
  provider = await startFakeProvider();
});
afterAll(() => provider.close());
beforeEach(() => provider.clear());

const cases = FAULTS.flatMap((fault) => CLIENTS.map((client) => [fault.name, client, fault] as const));

/** A node that makes one model call through `client`, with the run's abort signal. */
function modelNode(client: ClientName, stream: boolean, timeout?: number): TestNode {
  return async (_state, config) => ({
    result: await callClient(client, provider, { stream, signal: config.signal, ...(timeout === undefined ? {} : { timeout }) }),
  });
}

describe("classification of what the real clients throw", () => {
  it.each(cases)("%s · %s", async (_name, client, fault) => {
    provider.enqueue(fault.step);
    const error = await callClient(client, provider, { stream: fault.stream === true, ...(fault.hangs ? { timeout: 300 } : {}) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(classifyError(error)).toEqual(fault.expected[client]);
    expect(provider.count(API_OF[client])).toBe(1);
  });
});

describe("provider requests under resilient() in a LangGraph graph (model maxRetries: 0, retries: 2)", () => {
  it.each(cases)("%s · %s", async (_name, client, fault) => {
    provider.failAlways(fault.step);
    const node = resilient(modelNode(client, fault.stream === true), {
      ...(fault.hangs ? { timeout: 200 } : {}),
      retry: { retries: 2, jitter: "none", minDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, clock: fakeClock() },
    });
    const error = await oneNodeGraph(node)
      .invoke({ requestId: "r" }, threadConfig())
      .catch((e: unknown) => e);
    const expected = fault.expected[client];
    expect(provider.count()).toBe(expected.retryable ? 3 : 1);
    if (expected.retryable) {
      expect(error).toBeInstanceOf(RetriesExhaustedError);
      expect(error).toMatchObject({ attempts: 3, lastReason: expected.reason });
    } else {
      expect(classifyError(error).reason).toBe(expected.reason);
    }
  });

  it("recovers when the fault clears: one failure, then the answer", async () => {
    for (const client of CLIENTS) {
      provider.clear();
      provider.enqueue({ fault: "server_error", status: 503 });
      const node = resilient(modelNode(client, false), { retry: { retries: 2, jitter: "none", minDelayMs: 1, clock: fakeClock() } });
      const out = await oneNodeGraph(node).invoke({ requestId: "r" }, threadConfig());
      expect(out.result).toBe("ok");
      expect(provider.count()).toBe(2);
    }
  });
});

describe("a shared breaker in front of the real clients", () => {
  const breakerOptions = { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeout: 60_000, rollingCountTimeout: 60_000 };

  it.each(CLIENTS.map((c) => [c]))("%s: context overflow, 400 and 401 never open it; 503s do", async (client) => {
    const breaker = createCircuitBreaker({ name: `provider-${client}`, ...breakerOptions });
    const graph = oneNodeGraph(resilient(modelNode(client, false), { circuitBreaker: breaker }));
    for (const step of [{ fault: "context_overflow" }, { fault: "bad_request" }, { fault: "auth" }] as const) {
      provider.failAlways(step);
      for (let i = 0; i < 5; i += 1) await graph.invoke({ requestId: `r${i}` }, threadConfig()).catch(() => undefined);
    }
    expect(breaker.state).toBe("closed");
    expect(provider.count()).toBe(15);

    // Had they counted, 15 failures out of 15 calls would have opened it (volumeThreshold 3, 50 %).
    const second = createCircuitBreaker({ name: `provider-${client}-5xx`, ...breakerOptions });
    const graph5xx = oneNodeGraph(resilient(modelNode(client, false), { circuitBreaker: second }));
    provider.clear();
    provider.failAlways({ fault: "server_error", status: 503 });
    for (let i = 0; i < 3; i += 1) await graph5xx.invoke({ requestId: `s${i}` }, threadConfig()).catch(() => undefined);
    expect(second.state).toBe("open");
    const rejected = await graph5xx.invoke({ requestId: "after" }, threadConfig()).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(CircuitOpenError);
    expect(provider.count()).toBe(3);
  });
});
