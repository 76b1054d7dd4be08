import { interrupt } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import {
  IdempotencyConflictError,
  InMemoryIdempotencyStore,
  idempotencyKey,
  runOnce,
  withIdempotency,
  withRetry,
  withTimeout,
} from "../src/index.js";
import { fakeClock, httpError, oneNodeGraph, threadConfig, type TestNode, type TestStateType } from "./support/graph.js";

describe("runOnce", () => {
  it("runs the side effect once while withRetry retries the node twice", async () => {
    const store = new InMemoryIdempotencyStore();
    let charges = 0;
    let calls = 0;
    const node: TestNode = async (_s, config) => {
      calls += 1;
      const receipt = await runOnce(config, "charge", async () => ({ id: `ch_${++charges}` }), { store });
      if (calls <= 2) throw httpError(503);
      return { result: receipt.id };
    };
    const out = await oneNodeGraph(withRetry(node, { clock: fakeClock() })).invoke({ requestId: "r" }, threadConfig());
    expect(calls).toBe(3);
    expect(charges).toBe(1);
    expect(out.result).toBe("ch_1");
  });

  it("runs the side effect once while LangGraph's own RetryPolicy re-runs the node", async () => {
    const store = new InMemoryIdempotencyStore();
    let charges = 0;
    let calls = 0;
    const node: TestNode = async (_s, config) => {
      calls += 1;
      await runOnce(config, "charge", async () => ++charges, { store });
      if (calls <= 2) throw httpError(503);
      return { result: "done" };
    };
    const graph = oneNodeGraph(node, { retryPolicy: { maxAttempts: 3, initialInterval: 1, jitter: false, logWarning: false } });
    const out = await graph.invoke({ requestId: "r" }, threadConfig());
    expect(out.result).toBe("done");
    expect(calls).toBe(3);
    expect(charges).toBe(1);
  });

  it("does not repeat a side effect made before interrupt() when the run resumes", async () => {
    const store = new InMemoryIdempotencyStore();
    let emails = 0;
    const keys: string[] = [];
    const node: TestNode = async (_s, config) => {
      keys.push(idempotencyKey(config));
      const sent = await runOnce(config, "email", async () => ({ n: ++emails }), { store });
      const answer = interrupt("approve?") as string;
      return { result: `${answer}:${sent.n}` };
    };
    const graph = oneNodeGraph(node);
    const config = threadConfig();
    await graph.invoke({ requestId: "r" }, config);
    const { Command } = await import("@langchain/langgraph");
    const out = await graph.invoke(new Command({ resume: "yes" }), config);
    expect(out.result).toBe("yes:1");
    expect(emails).toBe(1);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[0]).toMatch(new RegExp(`^${config.configurable.thread_id}:work:[0-9a-f-]{36}$`));
  });

  it("gives two calls with the same name in one node their own records", async () => {
    const store = new InMemoryIdempotencyStore();
    const sent: string[] = [];
    let calls = 0;
    const node: TestNode = async (_s, config) => {
      calls += 1;
      await runOnce(config, "notify", async () => sent.push("a"), { store });
      await runOnce(config, "notify", async () => sent.push("b"), { store });
      if (calls === 1) throw httpError(500);
      return {};
    };
    await oneNodeGraph(withRetry(node, { clock: fakeClock() })).invoke({ requestId: "r" }, threadConfig());
    expect(sent).toEqual(["a", "b"]);
  });

  it("does not record errors: the next attempt runs the side effect again", async () => {
    const store = new InMemoryIdempotencyStore();
    let attempts = 0;
    const node: TestNode = async (_s, config) => {
      await runOnce(
        config,
        "flaky-call",
        async () => {
          attempts += 1;
          if (attempts === 1) throw httpError(502);
          return "ok";
        },
        { store },
      );
      return { result: "ok" };
    };
    await oneNodeGraph(withRetry(node, { clock: fakeClock() })).invoke({ requestId: "r" }, threadConfig());
    expect(attempts).toBe(2);
  });

  it("replays the recorded result as a JSON round-trip and rejects non-serialisable results", async () => {
    const store = new InMemoryIdempotencyStore();
    const seen: unknown[] = [];
    let calls = 0;
    const node: TestNode = async (_s, config) => {
      calls += 1;
      seen.push(await runOnce(config, "lookup", async () => ({ at: new Date(0), n: 1 }), { store }));
      if (calls === 1) throw httpError(500);
      return {};
    };
    await oneNodeGraph(withRetry(node, { clock: fakeClock() })).invoke({ requestId: "r" }, threadConfig());
    expect(seen[1]).toEqual({ at: "1970-01-01T00:00:00.000Z", n: 1 });

    const circular: TestNode = async (_s, config) => {
      await runOnce(config, "bad", async () => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      });
      return {};
    };
    await expect(oneNodeGraph(circular).invoke({ requestId: "r" }, threadConfig())).rejects.toThrow(TypeError);
  });

  it("throws a clear error without thread_id", async () => {
    const node: TestNode = async (_s, config) => {
      await runOnce(config, "charge", async () => 1);
      return {};
    };
    const error = await oneNodeGraph(node, { checkpointer: false })
      .invoke({ requestId: "r" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain("thread_id");
    expect((error as Error).message).toContain("`key`");
  });
});

describe("runOnce within one task run's attempts", () => {
  it("joins the side effect an earlier, timed-out attempt is still running instead of starting it again", async () => {
    const store = new InMemoryIdempotencyStore();
    let started = 0;
    let calls = 0;
    const node: TestNode = async (_s, config) => {
      calls += 1;
      // The side effect ignores the attempt's signal and outlives two attempt deadlines.
      const receipt = await runOnce(config, "charge", () => new Promise<string>((r) => setTimeout(() => r(`ch_${++started}`), 250)), {
        store,
        waitMs: 0,
      });
      return { result: receipt };
    };
    const graph = oneNodeGraph(withRetry(withTimeout(node, 100), { retries: 5, minDelayMs: 20, maxDelayMs: 20, jitter: "none" }));
    const out = await graph.invoke({ requestId: "r" }, threadConfig());
    expect(out.result).toBe("ch_1");
    expect(started).toBe(1);
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it("records the result an earlier attempt could not record, without running the side effect again", async () => {
    const memory = new InMemoryIdempotencyStore();
    let failCompletes = 1;
    // The in-memory store with its first complete() failing, as a store whose server dropped the connection would.
    const store = {
      claim: memory.claim.bind(memory),
      release: memory.release.bind(memory),
      complete: (...args: Parameters<InMemoryIdempotencyStore["complete"]>) =>
        failCompletes-- > 0
          ? Promise.reject(Object.assign(new Error("connection reset"), { code: "ECONNRESET" }))
          : memory.complete(...args),
    };
    let charges = 0;
    let key = "";
    const node: TestNode = async (_s, config) => {
      key = `${idempotencyKey(config)}:run:charge:0`;
      return { result: await runOnce(config, "charge", async () => `ch_${++charges}`, { store, waitMs: 60_000 }) };
    };
    const clock = fakeClock();
    const out = await oneNodeGraph(withRetry(node, { clock })).invoke({ requestId: "r" }, threadConfig());
    expect(out.result).toBe("ch_1");
    expect(charges).toBe(1);
    // One backoff sleep of withRetry; no poll of the wait loop.
    expect(clock.sleeps).toHaveLength(1);
    expect(await memory.claim(key, 1000)).toEqual({ status: "completed", value: '{"v":"ch_1"}' });
  });

  it("does not run the side effect under a grant that arrived after its lease could have lapsed; it asks again", async () => {
    const memory = new InMemoryIdempotencyStore();
    const clock = fakeClock();
    let slowAnswers = 1;
    // The first answer takes longer than the lease (the clock moves on while the store is slow).
    const store = {
      claim: async (...args: Parameters<InMemoryIdempotencyStore["claim"]>) => {
        const answer = await memory.claim(...args);
        if (slowAnswers-- > 0) clock.advance(1001);
        return answer;
      },
      complete: memory.complete.bind(memory),
      release: memory.release.bind(memory),
    };
    const ran: string[] = [];
    const config = { configurable: { thread_id: "t-slow", checkpoint_ns: "work:1" } };
    const out = await runOnce(
      config,
      "charge",
      async () => {
        ran.push("charge");
        return "ch_1";
      },
      { store, clock, leaseMs: 1000, waitMs: 5000 },
    );
    expect(out).toBe("ch_1");
    expect(ran).toEqual(["charge"]);
    // One poll of the wait loop between the stale grant and the fresh one.
    expect(clock.sleeps).toEqual([10]);
  });

  it("never starts the side effect once the attempt's signal has aborted", async () => {
    const store = new InMemoryIdempotencyStore();
    const controller = new AbortController();
    controller.abort(new Error("cancelled by caller"));
    let charges = 0;
    const config = { configurable: { thread_id: "t-aborted", checkpoint_ns: "work:1" }, signal: controller.signal };
    await expect(runOnce(config, "charge", async () => ++charges, { store })).rejects.toThrow("cancelled by caller");
    expect(charges).toBe(0);
    expect(store.size).toBe(0);
  });
});

describe("withIdempotency", () => {
  it("runs the node once for the same requestId on two threads and returns the same update", async () => {
    const store = new InMemoryIdempotencyStore();
    let runs = 0;
    const createTicket: TestNode = async (state) => ({ result: `ticket-${state.requestId}-${++runs}` });
    const graph = oneNodeGraph(withIdempotency(createTicket, { store, key: (s: TestStateType) => s.requestId }));
    const a = await graph.invoke({ requestId: "req-42" }, threadConfig());
    const b = await graph.invoke({ requestId: "req-42" }, threadConfig());
    const c = await graph.invoke({ requestId: "req-43" }, threadConfig());
    expect(runs).toBe(2);
    expect(a.result).toBe("ticket-req-42-1");
    expect(b.result).toBe("ticket-req-42-1");
    expect(c.result).toBe("ticket-req-43-2");
  });

  it("makes a concurrent duplicate wait for the first call's result", async () => {
    const store = new InMemoryIdempotencyStore();
    let runs = 0;
    let release: (() => void) | undefined;
    const slow: TestNode = async (state) => {
      runs += 1;
      await new Promise<void>((r) => (release = r));
      return { result: `done-${state.requestId}` };
    };
    const graph = oneNodeGraph(withIdempotency(slow, { store, key: (s: TestStateType) => s.requestId }));
    const first = graph.invoke({ requestId: "dup" }, threadConfig());
    await new Promise((r) => setTimeout(r, 20));
    const second = graph.invoke({ requestId: "dup" }, threadConfig());
    await new Promise((r) => setTimeout(r, 30));
    release?.();
    const [a, b] = await Promise.all([first, second]);
    expect(runs).toBe(1);
    expect(a.result).toBe("done-dup");
    expect(b.result).toBe("done-dup");
  });

  it("gives a concurrent duplicate IdempotencyConflictError once its wait budget is spent", async () => {
    const store = new InMemoryIdempotencyStore();
    let release: (() => void) | undefined;
    const slow: TestNode = async () => {
      await new Promise<void>((r) => (release = r));
      return { result: "done" };
    };
    const graph = oneNodeGraph(withIdempotency(slow, { store, key: (s: TestStateType) => s.requestId, waitMs: 40 }));
    const first = graph.invoke({ requestId: "dup" }, threadConfig());
    await new Promise((r) => setTimeout(r, 20));
    const error = await graph.invoke({ requestId: "dup" }, threadConfig()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect((error as IdempotencyConflictError).key).toContain("dup");
    release?.();
    await first;
  });

  it("keys by node task by default: a new input on the same thread runs the node again", async () => {
    const store = new InMemoryIdempotencyStore();
    let runs = 0;
    const node = withIdempotency(async (_state: TestStateType): Promise<Partial<TestStateType>> => ({ result: `run-${++runs}` }), {
      store,
    });
    const graph = oneNodeGraph(node as unknown as TestNode);
    const config = threadConfig();
    await graph.invoke({ requestId: "a" }, config);
    await graph.invoke({ requestId: "b" }, config);
    expect(runs).toBe(2);
  });

  it("throws a clear error without thread_id and without key", async () => {
    const graph = oneNodeGraph(
      withIdempotency(async () => ({ result: "x" })),
      { checkpointer: false },
    );
    await expect(graph.invoke({ requestId: "r" })).rejects.toThrow(/thread_id[\s\S]*`key`/);
  });
});

describe("InMemoryIdempotencyStore", () => {
  it("expires records after their TTL and leases after leaseMs", async () => {
    let now = 0;
    const store = new InMemoryIdempotencyStore({ now: () => now });
    const claim = await store.claim("k", 1000);
    expect(claim.status).toBe("acquired");
    expect((await store.claim("k", 1000)).status).toBe("pending");
    now = 1001;
    const takeover = await store.claim("k", 1000);
    expect(takeover.status).toBe("acquired");
    if (claim.status === "acquired") expect(await store.complete("k", claim.token, '"stale"', 10)).toBe(false);
    if (takeover.status === "acquired") expect(await store.complete("k", takeover.token, '"v"', 500)).toBe(true);
    expect(await store.claim("k", 1000)).toEqual({ status: "completed", value: '"v"' });
    now = 1600;
    expect((await store.claim("k", 1000)).status).toBe("acquired");
  });

  it("stays within maxEntries", async () => {
    const store = new InMemoryIdempotencyStore({ maxEntries: 100 });
    for (let i = 0; i < 1000; i += 1) {
      const c = await store.claim(`k${i}`, 60_000);
      if (c.status === "acquired") await store.complete(`k${i}`, c.token, "1", 60_000);
    }
    expect(store.size).toBeLessThanOrEqual(100);
    expect((await store.claim("k999", 1)).status).toBe("completed");
  });
});

describe("replaying LangChain messages", () => {
  it("revives a recorded AIMessage update as a message instance", async () => {
    const { AIMessage, HumanMessage } = await import("@langchain/core/messages");
    const { MessagesAnnotation, StateGraph, MemorySaver } = await import("@langchain/langgraph");
    const store = new InMemoryIdempotencyStore();
    let runs = 0;
    const answer = withIdempotency(
      async (_s: typeof MessagesAnnotation.State) => ({ messages: [new AIMessage({ content: `answer ${++runs}`, id: "ai-1" })] }),
      { store, key: () => "same-request" },
    );
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("answer", answer)
      .addEdge("__start__", "answer")
      .compile({ checkpointer: new MemorySaver() });
    await graph.invoke({ messages: [new HumanMessage("hi")] }, threadConfig());
    const replay = await graph.invoke({ messages: [new HumanMessage("hi again")] }, threadConfig());
    expect(runs).toBe(1);
    const last = replay.messages.at(-1);
    expect(last).toBeInstanceOf(AIMessage);
    expect(last?.content).toBe("answer 1");
  });
});
