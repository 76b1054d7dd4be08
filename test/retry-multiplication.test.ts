import { describe, expect, it } from "vitest";
import { RetriesExhaustedError, langGraphRetryOn, resilient, withRetry } from "../src/index.js";
import { fakeClock, httpError, oneNodeGraph, threadConfig, type TestNode } from "./support/graph.js";

function alwaysFailing() {
  const calls = { n: 0 };
  const node: TestNode = async () => {
    calls.n += 1;
    throw httpError(503);
  };
  return { node, calls };
}

const policy = { maxAttempts: 3, initialInterval: 1, maxInterval: 1, jitter: false, logWarning: false };

describe("withRetry inside LangGraph's RetryPolicy", () => {
  it("runs at most retries + 1 times with retryOn: langGraphRetryOn", async () => {
    const { node, calls } = alwaysFailing();
    const graph = oneNodeGraph(withRetry(node, { retries: 2, clock: fakeClock() }), {
      retryPolicy: { ...policy, retryOn: langGraphRetryOn },
    });
    await expect(graph.invoke({ requestId: "a" }, threadConfig())).rejects.toBeInstanceOf(RetriesExhaustedError);
    expect(calls.n).toBe(3);
  });

  it("multiplies to (retries + 1) x maxAttempts with LangGraph's default retryOn", async () => {
    const { node, calls } = alwaysFailing();
    const graph = oneNodeGraph(withRetry(node, { retries: 2, clock: fakeClock() }), { retryPolicy: policy });
    await expect(graph.invoke({ requestId: "a" }, threadConfig())).rejects.toBeInstanceOf(RetriesExhaustedError);
    expect(calls.n).toBe(9);
  });

  it("lets LangGraph retry errors no wrapper handled (resilient without retry)", async () => {
    const { node, calls } = alwaysFailing();
    const graph = oneNodeGraph(resilient(node, { timeout: 1000 }), { retryPolicy: { ...policy, retryOn: langGraphRetryOn } });
    await expect(graph.invoke({ requestId: "a" }, threadConfig())).rejects.toMatchObject({ status: 503 });
    expect(calls.n).toBe(3);
  });

  it("keeps LangGraph from retrying a non-Error throw into a crash", async () => {
    let calls = 0;
    const node: TestNode = async () => {
      calls += 1;
      throw "plain string";
    };
    const graph = oneNodeGraph(withRetry(node, { retries: 1, clock: fakeClock() }), {
      retryPolicy: { ...policy, retryOn: langGraphRetryOn },
    });
    const error = await graph.invoke({ requestId: "a" }, threadConfig()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(((error as Error).cause as Error).message).toContain("plain string");
    expect(calls).toBe(2);
  });
});
