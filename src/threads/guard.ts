/**
 * `guardThreads(graph, options)`: one run per thread at a time, across every replica sharing the store. The graph is
 * rebuilt as a same-named subclass whose `_streamIterator` (the one generator behind `invoke`, `stream`,
 * `streamEvents` and `batch`) takes the thread's lease before the run and frees it in its `finally`, which runs on
 * success, error, interrupt, abort and a cancelled stream alike.
 */
import { randomUUID } from "node:crypto";
import { checkOptions, describe, type OptionSpec, rule } from "../core/options.js";
import { CHANNELS, GRAPH_NAME_HANDLER_KEY, handlerMark, publish, type ThreadLockOutcome, type ThreadStrategy } from "../core/events.js";
import { dispatcherOf } from "./dispatch.js";
import { ThreadBusyError, ThreadInterruptedError, ThreadLeaseLostError } from "./errors.js";
import type { ThreadLockStore } from "./lock-store.js";

/** What a second run on a busy thread does. */
export type { ThreadStrategy };

/** Options of {@link guardThreads}. */
export interface GuardThreadsOptions {
  /** Where leases live: `InMemoryThreadLockStore` (one process), `PostgresThreadLockStore` or `RedisThreadLockStore`. */
  store: ThreadLockStore;
  /**
   * `reject`: fail at once with `ThreadBusyError`. `enqueue`: wait (FIFO per thread) for the runs before it, then run on
   * the state they left. `interrupt`: cancel the running run (in whichever replica), keep its checkpoints, then run.
   */
  strategy: ThreadStrategy;
  /**
   * Lease length in ms, renewed every `leaseMs / 3` while the run is alive. A killed replica's thread is free again
   * after at most this long; a replica that cannot renew for this long (frozen, partitioned) loses the thread and its
   * run is stopped. Default 30_000.
   */
  leaseMs?: number;
  /** Longest wait for the thread under `enqueue` and `interrupt`, in ms; then `ThreadBusyError`. Default 60_000. */
  waitMs?: number;
}

/** @internal The accepted keys of {@link GuardThreadsOptions}: validation and the bad-input sweep read it. */
export const GUARD_THREADS_OPTIONS = {
  store: rule.required(rule.methods("a thread lock store", "acquire", "renew", "release", "enqueue", "dequeue", "publish", "subscribe")),
  strategy: rule.required(rule.oneOf("reject", "enqueue", "interrupt")),
  leaseMs: rule.integer(300, 2_147_483_647),
  waitMs: rule.integer(0, 2_147_483_647),
} as const satisfies OptionSpec<keyof GuardThreadsOptions>;

/** The part of a compiled graph `guardThreads()` relies on (every LangGraph `Pregel` has it). */
export interface GuardableGraph {
  stream(input: unknown, options?: Record<string, unknown>): Promise<unknown>;
  getName?(): string;
}

type Options = Record<string, unknown> & { configurable?: Record<string, unknown>; signal?: AbortSignal };
type GraphClass = new (
  fields: Record<string, unknown>,
) => GuardableGraph & {
  config?: Options & { callbacks?: unknown };
  _streamIterator(input: unknown, options?: Options): AsyncGenerator<unknown>;
};

interface Resolved {
  store: ThreadLockStore;
  strategy: ThreadStrategy;
  leaseMs: number;
  waitMs: number;
  fallbackName: string;
}

function graphName(graph: { config?: { callbacks?: unknown } }, fallback: string): string {
  // instrument() names the graph on the graph itself, or (graphs it binds a handler to) on that handler.
  const bound = (graph as Record<symbol, unknown>)[GRAPH_NAME_HANDLER_KEY] ?? handlerMark(graph.config?.callbacks, GRAPH_NAME_HANDLER_KEY);
  return typeof bound === "string" ? bound : fallback;
}

function emit(graph: string, strategy: string, outcome: ThreadLockOutcome, threadId: string, waitedMs: number, busyForMs?: number): void {
  publish(CHANNELS.threadLock, { graph, strategy, outcome, threadId, waitedMs, ...(busyForMs === undefined ? {} : { busyForMs }) });
}

/** Resolves after `ms`, on a message, or when `signal` aborts (rejecting with its reason). */
function pause(ms: number, signal: AbortSignal | undefined, wake: { resolve?: () => void }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      wake.resolve = undefined;
    };
    const onAbort = (): void => {
      done();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    wake.resolve = () => {
      done();
      resolve();
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Waits in the thread's queue until `holder` gets it; returns whether it took an expired lease over. */
async function waitTurn(
  o: Resolved,
  name: string,
  threadId: string,
  holder: string,
  signal: AbortSignal | undefined,
  first: { holder: string | undefined; busyForMs: number },
): Promise<boolean> {
  const start = Date.now();
  // Waiters poll too: a message can be lost (a listener reconnecting) and an expired lease sends none.
  const pollMs = Math.max(25, Math.min(1000, Math.floor(o.leaseMs / 4)));
  const dispatcher = await dispatcherOf(o.store);
  const wake: { resolve?: () => void } = {};
  const off = dispatcher.on(threadId, (m) => {
    if (m.type === "released") wake.resolve?.();
  });
  let cancelled: string | undefined;
  let busy = first;
  try {
    await o.store.enqueue(threadId, holder, o.leaseMs);
    for (;;) {
      if (o.strategy === "interrupt" && busy.holder !== undefined) {
        // Sent again on every poll: a holder that had not subscribed yet (just acquired) would miss a single message.
        await o.store.publish({ type: "cancel", threadId, holder: busy.holder });
        if (busy.holder !== cancelled) emit(name, o.strategy, "interrupted", threadId, Date.now() - start, busy.busyForMs);
        cancelled = busy.holder;
      }
      const left = o.waitMs - (Date.now() - start);
      if (left <= 0) throw new ThreadBusyError(threadId, busy.busyForMs, Date.now() - start);
      await pause(Math.min(pollMs, left), signal, wake);
      await o.store.enqueue(threadId, holder, o.leaseMs);
      const result = await o.store.acquire(threadId, holder, { leaseMs: o.leaseMs, queued: true });
      if (result.acquired) return result.tookOver;
      busy = result;
    }
  } catch (error) {
    await o.store.dequeue(threadId, holder).catch(() => undefined);
    if (error instanceof ThreadBusyError) emit(name, o.strategy, "rejected", threadId, Date.now() - start, error.busyForMs);
    throw error;
  } finally {
    off();
  }
}

/** Takes `threadId` for a new run under the guard's strategy; resolves to the holder token. */
async function claim(o: Resolved, name: string, threadId: string, signal: AbortSignal | undefined): Promise<string> {
  const holder = randomUUID();
  const start = Date.now();
  const result = await o.store.acquire(threadId, holder, { leaseMs: o.leaseMs, queued: false });
  if (result.acquired) {
    emit(name, o.strategy, result.tookOver ? "taken_over" : "acquired", threadId, 0);
    return holder;
  }
  if (o.strategy === "reject") {
    emit(name, o.strategy, "rejected", threadId, 0, result.busyForMs);
    throw new ThreadBusyError(threadId, result.busyForMs);
  }
  const tookOver = await waitTurn(o, name, threadId, holder, signal, result);
  emit(name, o.strategy, tookOver ? "taken_over" : "waited", threadId, Date.now() - start);
  return holder;
}

/** Keeps the lease alive and listens for cancels while the run is alive; returns the signal the run obeys and a stop function. */
async function hold(o: Resolved, threadId: string, holder: string): Promise<{ signal: AbortSignal; stop: () => void }> {
  const controller = new AbortController();
  const dispatcher = await dispatcherOf(o.store);
  const off = dispatcher.on(threadId, (m) => {
    if (m.type === "cancel" && m.holder === holder) controller.abort(new ThreadInterruptedError(threadId));
  });
  const timer = setInterval(
    () => {
      o.store.renew(threadId, holder, o.leaseMs).then(
        (held) => {
          // Another run owns the thread now: stopping this one is what keeps "never two runs at once".
          if (!held) controller.abort(new ThreadLeaseLostError(threadId));
        },
        () => undefined,
      );
    },
    Math.max(50, Math.floor(o.leaseMs / 3)),
  );
  timer.unref();
  return {
    signal: controller.signal,
    stop: () => {
      clearInterval(timer);
      off();
    },
  };
}

function threadOf(self: { config?: Options }, options: Options | undefined): string | undefined {
  const configurable = { ...self.config?.configurable, ...options?.configurable };
  // A subgraph run shares its parent's thread id and runs inside the parent's claim.
  const ns = configurable.checkpoint_ns;
  if (typeof ns === "string" && ns !== "") return undefined;
  const id = configurable.thread_id;
  return typeof id === "string" || typeof id === "number" ? String(id) : undefined;
}

/**
 * The run's generator, pulled by the caller, or drained by the guard when the run's signal aborts while nobody pulls
 * (a stream abandoned with its signal): LangGraph's loop stops on the abort, but its generator only finishes, and the
 * guard only learns the run has stopped, when someone pulls it.
 */
class Drivable {
  #pulling = false;
  #drained: Promise<void> | undefined;
  #error: unknown;
  #failed = false;
  constructor(
    private readonly inner: AsyncGenerator<unknown>,
    private readonly signal: AbortSignal,
  ) {
    const onAbort = (): void => {
      if (!this.#pulling) void this.#drain();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }

  #drain(): Promise<void> {
    this.#drained ??= (async () => {
      try {
        for (;;) if ((await this.inner.next()).done === true) return;
      } catch (error) {
        this.#failed = true;
        this.#error = error;
      }
    })();
    return this.#drained;
  }

  async *chunks(): AsyncGenerator<unknown> {
    for (;;) {
      if (this.#drained !== undefined) {
        await this.#drained;
        if (this.#failed) throw this.#error;
        return;
      }
      this.#pulling = true;
      let result: IteratorResult<unknown>;
      try {
        result = await this.inner.next();
      } finally {
        this.#pulling = false;
      }
      if (result.done === true) {
        if (this.#drained !== undefined) continue;
        return;
      }
      // Aborted while this pull was in flight: the caller may never pull again.
      if (this.signal.aborted) void this.#drain();
      yield result.value;
    }
  }

  /** Resolves once the run has stopped: drained, or returned (LangGraph's generator awaits its loop in `finally`). */
  async stop(): Promise<void> {
    if (this.#drained !== undefined) await this.#drained;
    else await this.inner.return(undefined).catch(() => undefined);
  }
}

function guardedClass(Base: GraphClass, o: Resolved): GraphClass {
  class Guarded extends Base {
    override async *_streamIterator(input: unknown, options?: Options): AsyncGenerator<unknown> {
      const threadId = threadOf(this, options);
      if (threadId === undefined) {
        yield* super._streamIterator(input, options);
        return;
      }
      const name = graphName(this, o.fallbackName);
      const holder = await claim(o, name, threadId, options?.signal);
      let held: { signal: AbortSignal; stop: () => void } | undefined;
      let run: Drivable | undefined;
      try {
        held = await hold(o, threadId, holder);
        const signal = options?.signal === undefined ? held.signal : AbortSignal.any([options.signal, held.signal]);
        run = new Drivable(super._streamIterator(input, { ...options, signal }), signal);
        yield* run.chunks();
      } finally {
        held?.stop();
        // The thread is free only once the run has stopped writing checkpoints.
        await run?.stop();
        await o.store.release(threadId, holder).catch(() => undefined);
      }
    }
  }
  // LangChain serialises runs by class name (`CompiledStateGraph`); tracers and LangSmith must see the same name.
  Object.defineProperty(Guarded, "name", { value: Base.name });
  return Guarded;
}

function defaultName(graph: GuardableGraph): string {
  const own = (graph as { name?: unknown }).name;
  if (typeof own === "string" && own !== "") return own;
  const fromGetter = typeof graph.getName === "function" ? graph.getName() : undefined;
  return typeof fromGetter === "string" && fromGetter !== "" ? fromGetter : "LangGraph";
}

/**
 * Guards a compiled graph so that at most one run per `configurable.thread_id` runs at a time, across all replicas
 * sharing `store`. Returns the same graph (same type and class name); runs without a thread id are not guarded.
 * @example
 * const graph = guardThreads(builder.compile({ checkpointer }), { store: new PostgresThreadLockStore({ pool }), strategy: "enqueue" });
 * await graph.invoke({ messages }, { configurable: { thread_id } });
 */
export function guardThreads<G extends GuardableGraph>(graph: G, options: GuardThreadsOptions): G {
  const where = "guardThreads(graph, options)";
  const iterator = (graph as { _streamIterator?: unknown } | null)?._streamIterator;
  if (typeof graph !== "object" || graph === null || typeof graph.stream !== "function" || typeof iterator !== "function") {
    throw new TypeError(`guardThreads(graph) must be a compiled LangGraph graph, got ${describe(graph)}`);
  }
  const o = checkOptions<GuardThreadsOptions>(options, GUARD_THREADS_OPTIONS, where);
  const resolved: Resolved = {
    store: o.store,
    strategy: o.strategy,
    leaseMs: o.leaseMs ?? 30_000,
    waitMs: o.waitMs ?? 60_000,
    fallbackName: defaultName(graph),
  };
  const Base = (graph as object).constructor as GraphClass;
  const Guarded = guardedClass(Base, resolved);
  // Exactly what Pregel.withConfig does (`new this.constructor({ ...this, config })`), with the subclass.
  return new Guarded({ ...(graph as object) }) as unknown as G;
}
