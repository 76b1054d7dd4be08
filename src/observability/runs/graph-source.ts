/**
 * The compiled graph as a run source: graph-root and node runs taken from the graph itself instead of from a
 * callback handler bound at the graph. A handler bound there makes LangChain build a run manager for every runnable
 * LangGraph executes (the root, every node, channel write and branch); the kit needs only graph runs, node runs and
 * the LLM and tool calls a node makes.
 *
 * So `instrument()` gives the graph copies of its nodes whose runnable (`PregelNode.bound`, what LangGraph invokes
 * once per node attempt) reports the node run to the tracker, and hands the node's function a callback manager
 * holding only the kit's handler, so LangChain builds run managers for the calls the node makes and nothing else.
 * A node whose runnable is itself a graph (a subgraph) gets a copy of that graph with its nodes wrapped the same way,
 * recursively. Runs are linked through one config key per source: LangGraph copies a run config's own keys into
 * every task's config, and into a subgraph's, so each node finds the run it belongs to without a lookup.
 */
import type { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { uuidv7 } from "../run-id.js";
import { nodeCallbacks } from "./node-callbacks.js";
import type { RunTracker } from "./tracker.js";
import type { RunMetadata, TrackedRun } from "./types.js";

/** Runs `fn` with the tracing context of run `runId` active (the node span), when tracing is on. */
export type EnterRun = <T>(runId: string, fn: () => T) => T;

type Config = Record<string, unknown> & { callbacks?: unknown; metadata?: RunMetadata; signal?: unknown };
type Invoke = (input: unknown, config?: Config) => unknown;
/** What LangGraph's `PregelNode` looks like to the source: its runnable, and how a task is built from it. */
interface NodeLike {
  bound: { invoke: Invoke } & Record<string, unknown>;
  getNode(): unknown;
  tags?: readonly string[];
}
type GraphLike = Record<string, unknown> & {
  nodes: Record<string, NodeLike>;
  constructor: new (fields: Record<string, unknown>) => GraphLike;
};
/** The part of LangGraph's run loop read when the root run ends. */
interface LoopLike {
  output?: unknown;
  status?: string;
}

const HIDDEN_TAG = "langsmith:hidden";
/**
 * How a config names the run its tasks belong to: a function, so code that serialises a node's `configurable`
 * (which LangGraph copies into every task) skips it.
 */
type RunRef = () => TrackedRun;
/** Keeps the config keys of two instrumented graphs (one inside the other's node) apart. */
let sources = 0;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** @internal Whether `x` is a LangGraph graph (what LangGraph itself checks, `isPregelLike`). */
export function isPregelLike(x: unknown): boolean {
  return typeof x === "object" && x !== null && (x as { lg_is_pregel?: unknown }).lg_is_pregel === true;
}

function isNodeLike(x: unknown): x is NodeLike {
  const node = x as Partial<NodeLike> | null;
  return typeof node?.getNode === "function" && typeof node.bound?.invoke === "function";
}

/**
 * @internal Whether the nodes of `graph` can be wrapped: a LangGraph graph with `PregelNode`s, built by `StateGraph`
 * (class `CompiledStateGraph` and its subclasses). The functional API's `entrypoint` (class `Pregel`) schedules its
 * `task`s outside the graph's nodes, so it keeps the callback handler.
 */
export function canWrapNodes(graph: unknown): graph is GraphLike {
  if (!isPregelLike(graph)) return false;
  const g = graph as { nodes?: unknown; _streamIterator?: unknown; constructor?: { name?: string } };
  if (typeof g._streamIterator !== "function" || typeof g.nodes !== "object" || g.nodes === null) return false;
  if (g.constructor?.name === "Pregel") return false;
  return Object.values(g.nodes).every(isNodeLike);
}

/**
 * @internal The source of one instrumented graph: wraps its nodes (and its subgraphs' nodes) and starts and ends
 * its root runs, all on the graph's one {@link RunTracker}.
 */
export class GraphSource {
  /** The `configurable` key that carries the run a node belongs to (`__` keys are LangGraph's private ones). */
  readonly key: string;
  readonly tracker: RunTracker;
  readonly #handler: BaseCallbackHandler;
  readonly #enter: EnterRun | undefined;
  /** Root runs → the LangGraph loop that ran them (its output and final status). */
  readonly #loops = new WeakMap<TrackedRun, LoopLike>();

  constructor(tracker: RunTracker, handler: BaseCallbackHandler, enter: EnterRun | undefined) {
    this.key = `__langgraph_ops_run_${++sources}`;
    this.tracker = tracker;
    this.#handler = handler;
    this.#enter = enter;
  }

  /** The open run of this source that `config` belongs to. */
  #runOf(config: Config | undefined): TrackedRun | undefined {
    const ref = (config?.configurable as Record<string, unknown> | undefined)?.[this.key];
    if (typeof ref !== "function") return undefined;
    const run = (ref as RunRef)();
    return this.tracker.isOpen(run) ? run : undefined;
  }

  /** `config` with `run` as the run its tasks belong to. */
  #within(config: Config, run: TrackedRun): Config {
    const ref: RunRef = () => run;
    return { ...config, configurable: { ...(config.configurable as Record<string, unknown> | undefined), [this.key]: ref } };
  }

  /** `graph`'s nodes with their runnables wrapped; `memo` shares one copy of a subgraph used by several nodes. */
  wrapNodes(nodes: Record<string, NodeLike>, memo: WeakMap<object, unknown> = new WeakMap()): Record<string, NodeLike> {
    const out: Record<string, NodeLike> = {};
    for (const [name, node] of Object.entries(nodes)) out[name] = this.#wrapNode(name, node, memo);
    return out;
  }

  #wrapNode(name: string, node: NodeLike, memo: WeakMap<object, unknown>): NodeLike {
    // `__start__` and other hidden nodes have no node run today either.
    if (node.tags?.includes(HIDDEN_TAG) === true || name === "__start__") return node;
    const bound = node.bound;
    // The shadow keeps everything of the PregelNode (writers, retry and cache policy, `subgraphs`) but its runnable.
    const shadow = Object.create(node) as NodeLike;
    shadow.bound = isPregelLike(bound) ? this.#wrapSubgraph(name, bound, memo) : this.#wrapRunnable(name, bound);
    return shadow;
  }

  #wrapRunnable(name: string, bound: NodeLike["bound"]): NodeLike["bound"] {
    const wrapped = Object.create(bound) as NodeLike["bound"];
    const source = this;
    wrapped.invoke = function invoke(input: unknown, config?: Config): unknown {
      return source.#run(name, input, config, false, (c) => bound.invoke(input, c));
    };
    return wrapped;
  }

  /** A copy of the subgraph with its nodes wrapped (still a graph: state methods and stream namespaces see one). */
  #wrapSubgraph(name: string, graph: NodeLike["bound"], memo: WeakMap<object, unknown>): NodeLike["bound"] {
    let copy = memo.get(graph) as GraphLike | undefined;
    if (copy === undefined) {
      const g = graph as unknown as GraphLike;
      if (!canWrapNodes(g)) return this.#wrapRunnable(name, graph);
      try {
        // What Pregel.withConfig does (`new this.constructor({ ...this, config })`), with wrapped nodes.
        copy = new g.constructor({ ...g, nodes: this.wrapNodes(g.nodes, memo) });
      } catch {
        return this.#wrapRunnable(name, graph);
      }
      memo.set(graph, copy);
    }
    const wrapped = Object.create(copy) as NodeLike["bound"];
    const invokeCopy = (copy as unknown as { invoke: Invoke }).invoke;
    const source = this;
    wrapped.invoke = function invoke(input: unknown, config?: Config): unknown {
      return source.#run(name, input, config, true, (c) => invokeCopy.call(copy, input, c));
    };
    return wrapped;
  }

  /** One node attempt: the node run around `call`. */
  #run(name: string, input: unknown, config: Config | undefined, subgraph: boolean, call: (config: Config) => unknown): unknown {
    const parent = this.#runOf(config);
    if (parent === undefined || config === undefined) return call(config as Config);
    const callbacks = config.callbacks as { getParentRunId?: () => string | undefined } | undefined;
    // When LangChain built a run for this node anyway (callbacks passed at invoke time, streamEvents, LangSmith),
    // the node run takes its id, so the calls below link up in every handler.
    const id = (typeof callbacks?.getParentRunId === "function" ? callbacks.getParentRunId() : undefined) ?? uuidv7();
    const tracker = this.tracker;
    const run = tracker.nodeStart(id, parent, name, config.metadata, input);
    if (run === undefined) return call(config);
    // A subgraph's own nodes report themselves, under this run; only a node's function gets the handler. The run
    // name is the node run's own, as when LangChain hands a run's children their config: a tool or chain called
    // with this config keeps its own name.
    const { runName: _runName, ...rest } = config;
    const inner: Config = subgraph ? this.#within(rest, run) : rest;
    if (!subgraph) inner.callbacks = nodeCallbacks(config.callbacks, id, this.#handler);
    let out: unknown;
    try {
      out = this.#enter === undefined ? call(inner) : this.#enter(id, () => call(inner));
    } catch (error) {
      tracker.chainError(id, error);
      throw error;
    }
    if (!isThenable(out)) {
      tracker.chainEnd(id, out);
      return out;
    }
    return Promise.resolve(out).then(
      (value) => {
        tracker.chainEnd(id, value);
        return value;
      },
      (error: unknown) => {
        tracker.chainError(id, error);
        throw error;
      },
    );
  }

  /** Called from the graph's `_runLoop`: remembers the loop of a root run of this source. */
  noteLoop(config: Config | undefined, loop: LoopLike): void {
    const run = this.#runOf(config);
    if (run?.kind === "root") this.#loops.set(run, loop);
  }

  /**
   * One root run around `iterate` (the graph's own `_streamIterator`): started when the first chunk is asked for,
   * ended with the loop's output or error; a caller abort or a stream cancelled before the end is an abandoned run.
   * A plain iterator rather than an async generator: chunks pass through with one promise reaction each.
   */
  root(
    input: unknown,
    options: Config | undefined,
    metadata: RunMetadata,
    iterate: (options: Config) => AsyncGenerator<unknown>,
  ): AsyncGenerator<unknown> {
    return new RootRun(this, this.tracker, input, options, metadata, iterate);
  }

  /** `options` for the run loop of root run `run`: its tasks find the run through the config. */
  rootOptions(options: Config | undefined, run: TrackedRun): Config {
    return { ...this.#within(options ?? {}, run), runId: run.id };
  }

  /** The loop that ran root run `run`, once the run loop reported it. */
  loopOf(run: TrackedRun): LoopLike | undefined {
    return this.#loops.get(run);
  }
}

/** The iterator of one root run; see {@link GraphSource.root}. */
class RootRun implements AsyncGenerator<unknown> {
  readonly #source: GraphSource;
  readonly #tracker: RunTracker;
  readonly #input: unknown;
  readonly #options: Config | undefined;
  readonly #metadata: RunMetadata;
  readonly #iterate: (options: Config) => AsyncGenerator<unknown>;
  #inner: AsyncGenerator<unknown> | undefined;
  /** The run's record; undefined before the first chunk was asked for, or when another source tracks this run id. */
  #run: TrackedRun | undefined;
  #ended = false;
  #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => {
    if (this.#run !== undefined) this.#tracker.abandon(this.#run.id);
  };
  readonly #onResult = (result: IteratorResult<unknown>): IteratorResult<unknown> => {
    if (result.done === true) this.#end(undefined, false);
    return result;
  };
  readonly #onError = (error: unknown): never => {
    this.#end(error, true);
    throw error;
  };

  constructor(
    source: GraphSource,
    tracker: RunTracker,
    input: unknown,
    options: Config | undefined,
    metadata: RunMetadata,
    iterate: (options: Config) => AsyncGenerator<unknown>,
  ) {
    this.#source = source;
    this.#tracker = tracker;
    this.#input = input;
    this.#options = options;
    this.#metadata = metadata;
    this.#iterate = iterate;
  }

  #start(): AsyncGenerator<unknown> {
    const options = this.#options;
    const runId = typeof options?.runId === "string" ? options.runId : uuidv7();
    const run = this.#tracker.rootStart(runId, this.#metadata, this.#input);
    if (run === undefined) {
      this.#ended = true;
      this.#inner = this.#iterate(options ?? {});
      return this.#inner;
    }
    this.#run = run;
    const signal = options?.signal instanceof AbortSignal && !options.signal.aborted ? options.signal : undefined;
    // LangGraph sends nothing when a caller aborts or a stream is cancelled: the run is ended here, at once.
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#signal = signal;
    this.#inner = this.#iterate(this.#source.rootOptions(options, run));
    return this.#inner;
  }

  /** Marks the run ended and lets go of the caller's signal; false when it had ended already. */
  #finish(): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    return true;
  }

  #end(error: unknown, failed: boolean): void {
    if (!this.#finish()) return;
    const run = this.#run as TrackedRun;
    if (failed) {
      this.#tracker.chainError(run.id, error);
      return;
    }
    const loop = this.#source.loopOf(run);
    // Static breakpoints (interruptBefore/After) pause the run without any node raising an interrupt.
    if (typeof loop?.status === "string" && loop.status.startsWith("interrupt")) this.#tracker.interrupt(run.id);
    this.#tracker.chainEnd(run.id, loop?.output ?? {});
  }

  /** The consumer stopped iterating (break, return, cancel) before the run ended. */
  #abandon(): void {
    if (this.#finish()) this.#tracker.abandon((this.#run as TrackedRun).id);
  }

  next(...args: [] | [unknown]): Promise<IteratorResult<unknown>> {
    const inner = this.#inner ?? this.#start();
    if (this.#ended) return inner.next(...args);
    let step: Promise<IteratorResult<unknown>>;
    try {
      step = inner.next(...args);
    } catch (error) {
      this.#end(error, true);
      throw error;
    }
    return step.then(this.#onResult, this.#onError);
  }

  return(value?: unknown): Promise<IteratorResult<unknown>> {
    const inner = this.#inner;
    if (inner === undefined) {
      this.#ended = true;
      return Promise.resolve({ done: true, value });
    }
    // Abandoned once the graph let go of its loop, as an async generator's `finally` would.
    return inner.return(value).finally(() => this.#abandon());
  }

  throw(error?: unknown): Promise<IteratorResult<unknown>> {
    const inner = this.#inner ?? this.#start();
    if (this.#ended) return inner.throw(error);
    return inner.throw(error).then(this.#onResult, this.#onError);
  }

  [Symbol.asyncIterator](): AsyncGenerator<unknown> {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

/** @internal The metadata LangGraph gives a root run: its own defaults, the graph's bound metadata, the caller's, and the thread keys. */
export function rootMetadata(graphConfig: Config | undefined, options: Config | undefined): RunMetadata {
  const metadata: Record<string, unknown> = {
    ls_integration: "langgraph",
    ...(graphConfig?.metadata as RunMetadata | undefined),
    ...(options?.metadata as RunMetadata | undefined),
  };
  const configurable = {
    ...(graphConfig?.configurable as RunMetadata | undefined),
    ...(options?.configurable as RunMetadata | undefined),
  };
  // The keys LangGraph copies from `configurable` into a run's metadata (`propagateConfigurableToMetadata`).
  for (const key of ["thread_id", "checkpoint_id", "checkpoint_ns", "task_id", "run_id", "assistant_id", "graph_id"]) {
    if (key in metadata) continue;
    const value = configurable[key];
    if (value !== undefined) metadata[key] = value;
  }
  return metadata;
}
