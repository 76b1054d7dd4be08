import { Annotation, MemorySaver, Send, StateGraph } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { BulkheadRejectedError, RetriesExhaustedError, resilient, withBulkhead, withFallback } from "../src/index.js";
import { fakeClock, httpError, oneNodeGraph, threadConfig, type TestNode } from "./support/graph.js";

describe("fallback", () => {
  it("supplies its update only after retry gave up", async () => {
    let calls = 0;
    const errors: Error[] = [];
    const node: TestNode = async () => {
      calls += 1;
      throw httpError(503);
    };
    const wrapped = resilient(node, {
      retry: { retries: 2, clock: fakeClock() },
      fallback: (error) => {
        errors.push(error);
        expect(calls).toBe(3);
        return { result: "fallback answer" };
      },
    });
    const out = await oneNodeGraph(wrapped).invoke({ requestId: "a" }, threadConfig());
    expect(out.result).toBe("fallback answer");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RetriesExhaustedError);
  });

  it("does not fall back when the run was cancelled", async () => {
    let fallbacks = 0;
    const controller = new AbortController();
    let started = 0;
    const node: TestNode = (_s, config) =>
      new Promise((_r, reject) => {
        started += 1;
        config.signal?.addEventListener("abort", () => reject(config.signal?.reason));
        setImmediate(() => controller.abort(new Error("cancelled")));
      });
    const wrapped = withFallback(node, () => ((fallbacks += 1), { result: "fallback" }));
    const run = oneNodeGraph(wrapped).invoke({ requestId: "a" }, { ...threadConfig(), signal: controller.signal });
    await expect(run).rejects.toThrow("cancelled");
    expect(started).toBe(1);
    expect(fallbacks).toBe(0);
  });

  it("receives thrown non-Error values as Errors", async () => {
    const seen: Error[] = [];
    const wrapped = withFallback(
      async () => {
        throw 42;
      },
      (error) => (seen.push(error), { result: "fb" }),
    );
    await oneNodeGraph(wrapped as TestNode).invoke({ requestId: "a" }, threadConfig());
    expect(seen[0]).toBeInstanceOf(Error);
    expect(seen[0]?.message).toContain("42");
  });
});

describe("bulkhead", () => {
  it("runs at most `limit` at once and queues the rest under Send fan-out", async () => {
    const State = Annotation.Root({
      items: Annotation<number[]>(),
      done: Annotation<number[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
    });
    let running = 0;
    let peak = 0;
    const work = withBulkhead(
      async (s: { item: number }) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 10));
        running -= 1;
        return { done: [s.item] };
      },
      { limit: 2, queue: 10 },
    );
    const graph = new StateGraph(State)
      .addNode("work", work as never)
      .addConditionalEdges("__start__", (s) => s.items.map((item) => new Send("work", { item })))
      .compile({ checkpointer: new MemorySaver() });
    const out = await graph.invoke({ items: [1, 2, 3, 4, 5, 6] }, threadConfig());
    expect(out.done.sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(2);
  });

  it("rejects past limit + queue with BulkheadRejectedError", async () => {
    const releases: Array<() => void> = [];
    const node = withBulkhead(() => new Promise<string>((r) => releases.push(() => r("ok"))), { limit: 2, queue: 1 });
    const calls = [0, 1, 2, 3].map(() => node({}, {}).catch((e: unknown) => e));
    const rejected = await calls[3];
    expect(rejected).toBeInstanceOf(BulkheadRejectedError);
    while (releases.length > 0) releases.shift()?.();
    await new Promise((r) => setTimeout(r, 5));
    while (releases.length > 0) releases.shift()?.();
    expect(await Promise.all(calls.slice(0, 3))).toEqual(["ok", "ok", "ok"]);
  });

  it("drops a queued call whose run aborts", async () => {
    const releases: Array<() => void> = [];
    const node = withBulkhead(() => new Promise<string>((r) => releases.push(() => r("ok"))), { limit: 1, queue: 1 });
    const first = node({}, {});
    const controller = new AbortController();
    const queued = node({}, { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort(new Error("gone"));
    expect(((await queued) as Error).message).toBe("gone");
    const third = node({}, {});
    releases.shift()?.();
    await first;
    await new Promise((r) => setTimeout(r, 1));
    releases.shift()?.();
    expect(await third).toBe("ok");
  });
});
