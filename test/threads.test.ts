/**
 * guardThreads in one process (InMemoryThreadLockStore, real LangGraph graphs and MemorySaver): the strategies, every
 * entry point, release on every ending, and the metrics series.
 */
import { Annotation, MemorySaver, StateGraph } from "@langchain/langgraph";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { context, trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, describe, expect, expectTypeOf, it, vi } from "vitest";
import { createLogger, createMetrics, instrument, CHANNELS, subscribe } from "../src/index.js";
import { guardThreads, InMemoryThreadLockStore, ThreadBusyError } from "../src/index.js";

const State = Annotation.Root({
  turns: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  ms: Annotation<number>(),
});

/** A graph whose one node appends the input turn after `ms` (honouring its signal). */
function slowGraph() {
  return new StateGraph(State)
    .addNode("work", async (state, config) => {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, state.ms);
        config.signal?.addEventListener("abort", () => {
          clearTimeout(t);
          reject(config.signal?.reason);
        });
      });
      return { turns: ["done"] };
    })
    .addEdge("__start__", "work")
    .compile({ checkpointer: new MemorySaver(), name: "slow" });
}

const thread = (id: string) => ({ configurable: { thread_id: id } });

describe("guardThreads (in-memory store)", () => {
  it("reject: a second run on a busy thread fails at once with ThreadBusyError; other threads are free", async () => {
    const graph = guardThreads(slowGraph(), { store: new InMemoryThreadLockStore(), strategy: "reject" });
    const first = graph.invoke({ turns: ["a"], ms: 200 }, thread("t1"));
    await new Promise((r) => setTimeout(r, 30));
    const second = await graph.invoke({ turns: ["b"], ms: 0 }, thread("t1")).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(ThreadBusyError);
    expect((second as ThreadBusyError).threadId).toBe("t1");
    expect((second as ThreadBusyError).busyForMs).toBeGreaterThan(0);
    expect((await graph.invoke({ turns: ["c"], ms: 0 }, thread("t2"))).turns).toEqual(["c", "done"]);
    expect((await first).turns).toEqual(["a", "done"]);
    // Released on success: the thread takes a new run.
    expect((await graph.invoke({ turns: ["d"], ms: 0 }, thread("t1"))).turns).toEqual(["a", "done", "d", "done"]);
  });

  it("enqueue: runs wait their turn in FIFO order and each sees the state the previous one left", async () => {
    const graph = guardThreads(slowGraph(), { store: new InMemoryThreadLockStore(), strategy: "enqueue", leaseMs: 1000 });
    const order: string[] = [];
    const runs = ["a", "b", "c"].map(async (turn, i) => {
      await new Promise((r) => setTimeout(r, i * 20));
      const out = await graph.invoke({ turns: [turn], ms: 80 }, thread("q"));
      order.push(turn);
      return out;
    });
    const outs = await Promise.all(runs);
    expect(order).toEqual(["a", "b", "c"]);
    expect(outs[2]?.turns).toEqual(["a", "done", "b", "done", "c", "done"]);
  });

  it("enqueue: a waiter gives up after waitMs, and its caller's signal aborts the wait", async () => {
    const graph = guardThreads(slowGraph(), { store: new InMemoryThreadLockStore(), strategy: "enqueue", waitMs: 50 });
    const first = graph.invoke({ turns: ["a"], ms: 300 }, thread("w"));
    await new Promise((r) => setTimeout(r, 20));
    await expect(graph.invoke({ turns: ["b"], ms: 0 }, thread("w"))).rejects.toBeInstanceOf(ThreadBusyError);
    const patient = guardThreads(slowGraph(), { store: new InMemoryThreadLockStore(), strategy: "enqueue" });
    const held = patient.invoke({ turns: ["a"], ms: 300 }, thread("w2"));
    await new Promise((r) => setTimeout(r, 20));
    const controller = new AbortController();
    const waiting = patient.invoke({ turns: ["b"], ms: 0 }, { ...thread("w2"), signal: controller.signal });
    setTimeout(() => controller.abort(new Error("caller gave up")), 30);
    await expect(waiting).rejects.toThrow(/caller gave up|abort/i);
    await Promise.all([first, held]);
  });

  it("interrupt: the running run is cancelled with its checkpoints kept, then the new run completes", async () => {
    const graph = guardThreads(slowGraph(), { store: new InMemoryThreadLockStore(), strategy: "interrupt" });
    await graph.invoke({ turns: ["a"], ms: 0 }, thread("i"));
    const first = graph.invoke({ turns: ["b"], ms: 5_000 }, thread("i")).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const second = await graph.invoke({ turns: ["c"], ms: 0 }, thread("i"));
    const error = await first;
    expect(error).toBeInstanceOf(Error);
    // LangGraph ends an aborted run with its own "Abort" error.
    expect((error as Error).message).toMatch(/abort/i);
    // The interrupted run's input step was checkpointed ("b" kept), its node never finished.
    expect(second.turns).toEqual(["a", "done", "b", "c", "done"]);
  });

  it("releases the thread on error, on a cancelled stream, and guards stream, streamEvents and batch", async () => {
    const store = new InMemoryThreadLockStore();
    const graph = guardThreads(slowGraph(), { store, strategy: "reject" });
    await expect(graph.invoke({ turns: ["x"], ms: -1 } as never, { ...thread("e"), recursionLimit: 0 })).rejects.toThrow();
    const stream = await graph.stream({ turns: ["s"], ms: 200 }, { ...thread("e"), streamMode: "values" });
    await expect(graph.invoke({ turns: ["y"], ms: 0 }, thread("e"))).rejects.toBeInstanceOf(ThreadBusyError);
    await stream.cancel();
    // The cancelled run stops at its next step boundary; the thread is free once it has.
    await vi.waitFor(() => expect(graph.invoke({ turns: ["z"], ms: 0 }, thread("e"))).resolves.toBeDefined(), {
      timeout: 2000,
      interval: 50,
    });
    const events = graph.streamEvents({ turns: ["v"], ms: 100 }, { ...thread("e"), version: "v2" });
    const iterator = events[Symbol.asyncIterator]();
    await iterator.next();
    await expect(graph.invoke({ turns: ["y"], ms: 0 }, thread("e"))).rejects.toBeInstanceOf(ThreadBusyError);
    for (let r = await iterator.next(); !r.done; r = await iterator.next());
    const batch = await graph.batch(
      [
        { turns: ["b1"], ms: 50 },
        { turns: ["b2"], ms: 50 },
      ],
      [thread("e"), thread("e")],
      {
        returnExceptions: true,
      },
    );
    expect(batch.filter((r) => r instanceof ThreadBusyError)).toHaveLength(1);
  });

  it("counts langgraph_thread_lock_total under the instrumented graph's name and publishes events", async () => {
    const metrics = createMetrics();
    const seen: string[] = [];
    const stop = subscribe(CHANNELS.threadLock, (e) => seen.push(e.outcome));
    const graph = instrument(guardThreads(slowGraph(), { store: new InMemoryThreadLockStore(), strategy: "reject" }), {
      metrics,
      name: "support",
    });
    const first = graph.invoke({ turns: ["a"], ms: 100 }, thread("m"));
    await new Promise((r) => setTimeout(r, 20));
    await graph.invoke({ turns: ["b"], ms: 0 }, thread("m")).catch(() => undefined);
    await first;
    stop();
    expect(seen).toEqual(["acquired", "rejected"]);
    const text = await metrics.text();
    expect(text).toContain('langgraph_thread_lock_total{graph="support",strategy="reject",outcome="acquired"} 1');
    expect(text).toContain('langgraph_thread_lock_total{graph="support",strategy="reject",outcome="rejected"} 1');
  });

  it("frees the thread when the caller's signal aborts a stream nobody reads any more", async () => {
    // Several quick steps before the slow one: more chunks are waiting than the stream's buffers pull through by themselves.
    const chatty = new StateGraph(State)
      .addNode("a", () => ({ turns: ["a"] }))
      .addNode("b", () => ({ turns: ["b"] }))
      .addNode("c", () => ({ turns: ["c"] }))
      .addNode("slow", async (state, config) => {
        if (state.ms === 0) return {};
        await new Promise<void>((_resolve, reject) => config.signal?.addEventListener("abort", () => reject(config.signal?.reason)));
        return {};
      })
      .addEdge("__start__", "a")
      .addEdge("a", "b")
      .addEdge("b", "c")
      .addEdge("c", "slow")
      .compile({ checkpointer: new MemorySaver() });
    const graph = guardThreads(chatty, { store: new InMemoryThreadLockStore(), strategy: "reject" });
    const controller = new AbortController();
    const stream = await graph.stream(
      { turns: ["s"], ms: 1 },
      { ...thread("abandoned"), signal: controller.signal, streamMode: ["values", "updates", "debug"] },
    );
    await new Promise((r) => setTimeout(r, 50));
    await expect(graph.invoke({ turns: ["x"], ms: 0 }, thread("abandoned"))).rejects.toBeInstanceOf(ThreadBusyError);
    controller.abort(new Error("client went away"));
    await vi.waitFor(() => expect(graph.invoke({ turns: ["n"], ms: 0 }, thread("abandoned"))).resolves.toBeDefined(), {
      timeout: 2000,
      interval: 50,
    });
    expect(stream).toBeDefined();
  });

  it("a run whose lease expired unrenewed is stopped, and the next run takes the thread over", async () => {
    let skew = 0;
    const store = new InMemoryThreadLockStore({ now: () => Date.now() + skew });
    const seen: string[] = [];
    const stop = subscribe(CHANNELS.threadLock, (e) => {
      if (e.threadId === "lost") seen.push(e.outcome);
    });
    const graph = guardThreads(slowGraph(), { store, strategy: "reject", leaseMs: 300 });
    const first = graph.invoke({ turns: ["a"], ms: 60_000 }, thread("lost")).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 30));
    // The store's clock jumps past the lease (a frozen process): the next renewal finds it expired.
    skew = 10_000;
    const second = await graph.invoke({ turns: ["b"], ms: 0 }, thread("lost"));
    const error = await first;
    stop();
    expect((error as Error).message).toMatch(/abort/i);
    expect(second.turns).toContain("b");
    expect(seen).toEqual(["acquired", "taken_over"]);
  });

  it("the interrupted run counts as cancelled in the graph's run metrics", async () => {
    const metrics = createMetrics();
    const graph = instrument(guardThreads(slowGraph(), { store: new InMemoryThreadLockStore(), strategy: "interrupt" }), {
      metrics,
      name: "cut",
    });
    const first = graph.invoke({ turns: ["a"], ms: 60_000 }, thread("cut")).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 30));
    await graph.invoke({ turns: ["b"], ms: 0 }, thread("cut"));
    await first;
    const text = await metrics.text();
    expect(text).toContain('langgraph_graph_runs_total{graph="cut",status="cancelled"} 1');
    expect(text).toContain('langgraph_graph_runs_total{graph="cut",status="success"} 1');
    expect(text).toContain('langgraph_thread_lock_total{graph="cut",strategy="interrupt",outcome="interrupted"} 1');
    expect(text).toContain('langgraph_thread_lock_total{graph="cut",strategy="interrupt",outcome="waited"} 1');
    expect(text).toMatch(/langgraph_thread_lock_wait_seconds_count\{graph="cut",strategy="interrupt"\} 1/);
  });

  describe("log lines and span events", () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    afterAll(async () => {
      await provider.shutdown();
      context.disable();
      trace.disable();
    });

    it("a busy rejection is a warn line with the thread id and an event on the caller's span", async () => {
      const lines: Array<Record<string, unknown>> = [];
      const logger = createLogger({ level: "debug", destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
      const graph = instrument(guardThreads(slowGraph(), { store: new InMemoryThreadLockStore(), strategy: "reject" }), {
        logger,
        tracing: true,
        name: "logged",
      });
      const first = graph.invoke({ turns: ["a"], ms: 100 }, thread("log"));
      await new Promise((r) => setTimeout(r, 20));
      await trace.getTracer("http").startActiveSpan("POST /chat", async (span) => {
        await graph.invoke({ turns: ["b"], ms: 0 }, thread("log")).catch(() => undefined);
        span.end();
      });
      await first;
      const rejected = lines.find((l) => l.msg === "thread lock rejected");
      expect(rejected).toMatchObject({ level: 40, graph: "logged", thread_id: "log", strategy: "reject", outcome: "rejected" });
      expect(lines.some((l) => l.msg === "thread lock acquired" && l.level === 20)).toBe(true);
      const http = exporter.getFinishedSpans().find((s) => s.name === "POST /chat");
      const event = http?.events.find((e) => e.name === "langgraph.thread_lock");
      expect(event?.attributes).toMatchObject({ "langgraph.thread_lock.outcome": "rejected", "langgraph.thread_lock.strategy": "reject" });
    });
  });

  it("returns the same graph type and class, usable as a subgraph (its runs there are not locked again)", async () => {
    const inner = slowGraph();
    // One store for parent and child: a child that locked the thread again would wait for its own parent.
    const store = new InMemoryThreadLockStore();
    const guarded = guardThreads(inner, { store, strategy: "enqueue", waitMs: 2000 });
    expectTypeOf(guarded).toEqualTypeOf<typeof inner>();
    expect(guarded).toBeInstanceOf(inner.constructor);
    expect(guarded.constructor.name).toBe(inner.constructor.name);
    const parent = guardThreads(
      new StateGraph(State).addNode("child", guarded).addEdge("__start__", "child").compile({ checkpointer: new MemorySaver() }),
      { store, strategy: "enqueue" },
    );
    const out = await parent.invoke({ turns: ["p"], ms: 0 }, thread("nested"));
    expect(out.turns).toContain("done");
    // Called directly, the guarded child locks its own thread as usual.
    expect((await guarded.invoke({ turns: ["c"], ms: 0 }, thread("direct"))).turns).toEqual(["c", "done"]);
    expect((await parent.getState(thread("nested"))).values.turns).toEqual(out.turns);
  });

  it("rejects bad options naming the option", () => {
    expect(() => guardThreads(slowGraph(), { store: new InMemoryThreadLockStore(), strategy: "later" as never })).toThrow(
      /guardThreads\(graph, options\)\.strategy must be/,
    );
    expect(() => guardThreads(slowGraph(), { strategy: "reject" } as never)).toThrow(/\.store must be/);
  });
});
