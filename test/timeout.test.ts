import { createHook } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import { CHANNELS, TimeoutError, resilient, subscribe, withRetry, withTimeout } from "../src/index.js";
import { type Deadline, DeadlineQueue } from "../src/resilience/deadline-queue.js";
import { fakeClock, httpError, oneNodeGraph, threadConfig, type TestNode } from "./support/graph.js";

/**
 * Follows the timers created from now on: how many were created, and how many of those are still pending and keep
 * the process alive (ref'd). Counting only its own timers keeps the test exact while the runner's timers come and go.
 */
function trackTimers(): { created(): number; pendingRefed(): number; stop(): void } {
  const live = new Map<number, { hasRef(): boolean }>();
  let created = 0;
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type !== "Timeout") return;
      created += 1;
      live.set(id, resource as { hasRef(): boolean });
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return {
    created: () => created,
    pendingRefed: () => [...live.values()].filter((t) => t.hasRef()).length,
    stop: () => hook.disable(),
  };
}

/** Work that takes `ms` unless its signal aborts first; records how it ended. */
function listeningNode(ms: number) {
  const seen: { aborted: boolean; reason?: unknown } = { aborted: false };
  const node: TestNode = (_state, config) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve({ result: "finished" }), ms);
      config.signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        seen.aborted = true;
        seen.reason = config.signal?.reason;
        reject(config.signal?.reason);
      });
    });
  return { node, seen };
}

describe("withTimeout", () => {
  it("aborts the node's signal at the deadline and rejects with TimeoutError naming the limit", async () => {
    const { node, seen } = listeningNode(60_000);
    const error = await oneNodeGraph(withTimeout(node, 40))
      .invoke({ requestId: "a" }, threadConfig())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain("40 ms");
    expect(seen.aborted).toBe(true);
    expect(seen.reason).toBeInstanceOf(TimeoutError);
  });

  it("rejects at the deadline even when the node ignores its signal", async () => {
    let finish: (() => void) | undefined;
    const stubborn: TestNode = () =>
      new Promise((resolve) => {
        finish = () => resolve({ result: "late" });
      });
    const error = await oneNodeGraph(withTimeout(stubborn, { ms: 30 }))
      .invoke({ requestId: "a" }, threadConfig())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    finish?.();
  });

  it("applies per attempt inside retry", async () => {
    let calls = 0;
    const node: TestNode = (_s, config) => {
      calls += 1;
      if (calls < 3) return listeningNode(60_000).node(_s, config);
      return Promise.resolve({ result: `attempt ${calls}` });
    };
    const clock = fakeClock();
    const out = await oneNodeGraph(resilient(node, { timeout: 25, retry: { retries: 3, clock } })).invoke(
      { requestId: "a" },
      threadConfig(),
    );
    expect(out.result).toBe("attempt 3");
    expect(clock.sleeps).toHaveLength(2);
  });

  it("passes the caller's abort on to the node's signal", async () => {
    const { node: listening, seen } = listeningNode(60_000);
    const controller = new AbortController();
    const node: TestNode = (state, config) => {
      const work = listening(state, config);
      setImmediate(() => controller.abort(new Error("user cancelled")));
      return work;
    };
    const run = oneNodeGraph(withTimeout(node, 60_000)).invoke({ requestId: "a" }, { ...threadConfig(), signal: controller.signal });
    await expect(run).rejects.toThrow();
    expect(seen.aborted).toBe(true);
  });

  it("leaves no timer behind once calls settle", async () => {
    const tracked = trackTimers();
    try {
      const fast = withTimeout(async () => ({ result: "x" }), 60_000);
      const failing = withTimeout(async () => {
        throw httpError(500);
      }, 60_000);
      for (let i = 0; i < 50; i += 1) {
        await fast({} as never, {} as never);
        await failing({} as never, {} as never).catch(() => undefined);
      }
      expect(tracked.created()).toBeGreaterThan(0);
      expect(tracked.pendingRefed()).toBe(0);
    } finally {
      tracked.stop();
    }
  });
});

describe("cancellation", () => {
  it("stops retries at once when the caller aborts mid-backoff, leaving no timer", async () => {
    let calls = 0;
    const node: TestNode = async () => {
      calls += 1;
      throw httpError(503);
    };
    const tracked = trackTimers();
    const controller = new AbortController();
    const graph = oneNodeGraph(withRetry(node, { minDelayMs: 600_000, jitter: "none" }));
    // Abort once the first attempt has failed and its backoff sleep is about to start.
    const stop = subscribe(CHANNELS.retry, () => setImmediate(() => controller.abort(new Error("shutdown"))));
    const run = graph.invoke({ requestId: "a" }, { ...threadConfig(), signal: controller.signal });
    await expect(run).rejects.toThrow();
    stop();
    expect(calls).toBe(1);
    await new Promise((r) => setImmediate(r));
    tracked.stop();
    // The backoff sleep (600 s) was started and cleared by the abort.
    expect(tracked.created()).toBeGreaterThan(0);
    expect(tracked.pendingRefed()).toBe(0);
  });

  it("does not start an attempt when the signal is already aborted", async () => {
    let calls = 0;
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    const wrapped = resilient(
      async () => {
        calls += 1;
        return { result: "x" };
      },
      { timeout: 1000, retry: {} },
    );
    await expect(wrapped({} as never, { signal: controller.signal } as never)).rejects.toThrow("gone");
    expect(calls).toBe(0);
  });
});

describe("the config a timed node receives", () => {
  it("reads through to the caller's config, with its own signal visible to spreads, entries and `in`", async () => {
    const parent = new AbortController();
    const caller = { metadata: { langgraph_node: "n" }, configurable: { thread_id: "t" }, signal: parent.signal };
    let seen: Record<string, unknown> = {};
    const node = withTimeout(async (_s: unknown, config: typeof caller) => {
      const copy = { ...config };
      seen = {
        same: copy.signal === config.signal,
        notParent: config.signal !== parent.signal,
        inOperator: "signal" in config,
        entries: Object.entries(config).some(([k, v]) => k === "signal" && v === config.signal),
        metadata: config.metadata,
        thread: config.configurable.thread_id,
      };
      return "ok";
    }, 1000);
    await node({}, caller);
    expect(seen).toEqual({ same: true, notParent: true, inOperator: true, entries: true, metadata: { langgraph_node: "n" }, thread: "t" });
  });

  it("copies a frozen config instead of proxying it", async () => {
    const frozen = Object.freeze({ metadata: {}, signal: new AbortController().signal });
    let aborted = false;
    const node = withTimeout(
      (_s: unknown, config: { signal: AbortSignal }) =>
        new Promise((_r, reject) => {
          config.signal.addEventListener("abort", () => {
            aborted = true;
            reject(config.signal.reason);
          });
        }),
      20,
    );
    await expect(node({}, frozen)).rejects.toBeInstanceOf(TimeoutError);
    expect(aborted).toBe(true);
  });

  it("times out each of many concurrent calls that overrun, and only those", async () => {
    const node = withTimeout((_s: unknown, c: { delay: number }) => new Promise((r) => setTimeout(() => r(c.delay), c.delay)), 40);
    const delays = [1, 80, 5, 120, 10, 60, 2];
    const results = await Promise.all(delays.map((delay) => node({}, { delay }).catch((e: unknown) => e)));
    results.forEach((result, i) => {
      if ((delays[i] as number) > 40) expect(result).toBeInstanceOf(TimeoutError);
      else expect(result).toBe(delays[i]);
    });
  });

  it("settles a synchronous node's call at once, as a promise, without queueing a deadline", async () => {
    const tracked = trackTimers();
    let signalAfterReturn: AbortSignal | undefined;
    const caller = new AbortController();
    const wrapped = withTimeout((_s: unknown, config: { signal?: AbortSignal }) => {
      signalAfterReturn = config.signal;
      return { result: "sync" };
    }, 50);
    const out = wrapped({}, { signal: caller.signal } as never);
    expect(out).toBeInstanceOf(Promise);
    expect(await out).toEqual({ result: "sync" });
    expect(tracked.created()).toBe(0);
    // The attempt is over: a caller abort later does not reach the finished attempt's signal.
    caller.abort();
    expect(signalAfterReturn?.aborted).toBe(false);

    const thrown = withTimeout(() => {
      throw new Error("sync boom");
    }, 50)({}, {} as never);
    expect(thrown).toBeInstanceOf(Promise);
    expect(((await thrown.catch((e: unknown) => e)) as Error).message).toBe("sync boom");
    tracked.stop();
    expect(tracked.created()).toBe(0);
  });

  it("counts an asynchronous node's deadline from the call's start, its synchronous part included", async () => {
    const wrapped = withTimeout(() => {
      const until = performance.now() + 30;
      while (performance.now() < until) {
        // a synchronous prefix that eats most of the 40 ms budget
      }
      return new Promise<{ result: string }>((resolve) => setTimeout(() => resolve({ result: "late" }), 25));
    }, 40);
    const error = await wrapped({}, {} as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
  });
});

describe("DeadlineQueue", () => {
  it("never queues a deadline earlier than the last one, so the queue stays in order", () => {
    const queue = new DeadlineQueue(100);
    const expired: string[] = [];
    const entry = (name: string): Deadline => ({ at: 0, done: false, expire: () => expired.push(name) });
    const inner = entry("inner");
    const outer = entry("outer");
    const start = performance.now();
    queue.add(inner, start + 10);
    // An outer call whose synchronous part queued the inner call first: it started earlier.
    queue.add(outer, start);
    expect(inner.at).toBe(start + 110);
    expect(outer.at).toBe(inner.at);
    queue.settle(inner);
    queue.settle(outer);
    expect(queue.pending).toBe(0);
  });
});
