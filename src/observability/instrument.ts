/**
 * `instrument(graph, options)`: metrics, traces and logs for any compiled graph without touching its nodes.
 *
 * The handlers and the graph name are bound with the graph's own `withConfig`, so they merge with invoke-time
 * callbacks and survive later `withConfig` calls. The instance is rebuilt as a same-named subclass of the graph's
 * class whose `stream` (every public entry point goes through it) learns when a caller cancels a stream before the
 * run ended: LangGraph sends no callback then, and the handlers would otherwise count the run as in flight forever.
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Logger } from "pino";
import { checkOptions, describe, type OptionSpec, rule } from "../core/options.js";
import { TRACING_OPTIONS } from "./tracing/options.js";
import { GRAPH_NAME_HANDLER_KEY, handlersOf } from "../core/events.js";
import { InstrumentCallbackHandler } from "./instrument-handler.js";
import { createLoggingHandler } from "./logging.js";
import { MetricsCallbackHandler } from "./metrics-handler.js";
import { coreOf, isMetrics, type Metrics } from "./metrics.js";
import { uuidv7 } from "./run-id.js";
import { canWrapNodes, GraphSource, rootMetadata } from "./runs/graph-source.js";
import { withHandler } from "./runs/node-callbacks.js";
import { withRunContext } from "./tracing/bridge.js";
import { createTracingHandler, type TracingOptions } from "./tracing/handler.js";

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Record Prometheus series on these metrics (from `createMetrics`). */
  metrics?: Metrics;
  /** Emit OpenTelemetry spans: `true` for the defaults, or tracing options. */
  tracing?: boolean | TracingOptions;
  /** Log run, node, tool and LLM events on this pino logger. */
  logger?: Logger;
  /** The `graph` label and root span name. Default: the graph's name (`compile({ name })`), else "LangGraph". */
  name?: string;
}

/** The part of a compiled graph `instrument()` relies on (every LangGraph `Pregel` has it). */
export interface InstrumentableGraph {
  withConfig(config: Record<string, unknown>): unknown;
  stream(input: unknown, options?: Record<string, unknown>): Promise<unknown>;
  getName?(): string;
}

/** A handler that must hear about runs abandoned without a terminal callback. */
interface AbandonAware {
  handleAbandonedRun(runId: string): void;
}

type StreamOptions = Record<string, unknown> & { runId?: string };
/** What the subclass calls on a LangGraph graph besides the public entry points. */
interface PregelInternals {
  config?: { callbacks?: unknown; metadata?: Record<string, unknown>; configurable?: Record<string, unknown> };
  _streamIterator(input: unknown, options?: StreamOptions): AsyncGenerator<unknown>;
  _runLoop(params: { loop: object; config?: StreamOptions }): Promise<unknown>;
}
type GraphClass = new (fields: Record<string, unknown>) => InstrumentableGraph & PregelInternals;

/** What `instrument()` keeps on a graph whose runs it takes from the graph itself. */
interface Attachment {
  readonly handler: InstrumentCallbackHandler;
  /** The sources of the graph's runs, innermost first; empty when its runs come from the handler bound at the graph. */
  readonly sources: readonly GraphSource[];
}
/** Own property of an instrumented graph; `withConfig` copies it with the graph's other fields. */
const ATTACHMENT = Symbol.for("langgraph-ops.instrument-attachment");

/** @internal The accepted keys of {@link InstrumentOptions}: validation and the bad-input sweep read it. */
export const INSTRUMENT_OPTIONS = {
  metrics: rule.check("the result of createMetrics()", isMetrics),
  tracing: rule.union(rule.boolean(), rule.options(TRACING_OPTIONS)),
  logger: rule.methods("a pino logger", "isLevelEnabled", "debug", "info", "warn", "error"),
  name: rule.string({ nonEmpty: true }),
} as const satisfies OptionSpec<keyof InstrumentOptions>;
const INSTRUMENTED = Symbol.for("langgraph-ops.instrumented");
const subclasses = new WeakMap<GraphClass, GraphClass>();

function isAbandonAware(handler: unknown): handler is AbandonAware {
  return typeof (handler as Partial<AbandonAware> | null)?.handleAbandonedRun === "function";
}

function hasAbandonAware(callbacks: unknown): boolean {
  const handlers = handlersOf(callbacks);
  if (handlers === undefined) return false;
  for (const handler of handlers) if (isAbandonAware(handler)) return true;
  return false;
}

function notifyAbandoned(callbacks: unknown, runId: string): void {
  for (const handler of handlersOf(callbacks) ?? []) {
    if (!isAbandonAware(handler)) continue;
    try {
      handler.handleAbandonedRun(runId);
    } catch {
      // An observer never breaks the caller's cancel.
    }
  }
}

/** Detaches itself from the caller's signal when the root run `runId` ends (LangChain callback, run inline). */
class RunEndWatcher extends BaseCallbackHandler {
  name = "langgraph-ops-run-end-watcher";
  override awaitHandlers = true;
  constructor(
    private readonly runId: string,
    private readonly detach: () => void,
  ) {
    super();
  }
  override handleChainEnd(_outputs: unknown, runId: string): void {
    if (runId === this.runId) this.detach();
  }
  override handleChainError(_error: unknown, runId: string): void {
    if (runId === this.runId) this.detach();
  }
}

/** Reports the run as abandoned when the caller's signal aborts before the run ended. */
function watchCallerSignal(options: StreamOptions, signal: AbortSignal, callbacks: unknown, runId: string): StreamOptions {
  const onAbort = (): void => notifyAbandoned(callbacks, runId);
  const detach = (): void => signal.removeEventListener("abort", onAbort);
  signal.addEventListener("abort", onAbort, { once: true });
  return { ...options, callbacks: withHandler(options.callbacks, new RunEndWatcher(runId, detach)) };
}

/** The same-named subclass of `Base` that reports abandoned streams; `Base` itself when it already is one. */
function instrumentedClass(Base: GraphClass): GraphClass {
  if ((Base as unknown as Record<symbol, unknown>)[INSTRUMENTED] === true) return Base;
  const cached = subclasses.get(Base);
  if (cached !== undefined) return cached;
  class Instrumented extends Base {
    constructor(fields: Record<string | symbol, unknown>) {
      super(fields as Record<string, unknown>);
      const self = this as unknown as Record<symbol, unknown>;
      if (fields[ATTACHMENT] !== undefined) self[ATTACHMENT] = fields[ATTACHMENT];
      if (fields[GRAPH_NAME_HANDLER_KEY] !== undefined) self[GRAPH_NAME_HANDLER_KEY] = fields[GRAPH_NAME_HANDLER_KEY];
    }

    // The root run of a graph whose nodes report themselves: every entry point (transform too) iterates this. Not
    // a generator method: without sources the graph's own iterator comes back untouched.
    override _streamIterator(input: unknown, options?: StreamOptions): AsyncGenerator<unknown> {
      const sources = (this as unknown as Record<symbol, Attachment | undefined>)[ATTACHMENT]?.sources ?? [];
      if (sources.length === 0) return super._streamIterator(input, options);
      const metadata = rootMetadata(this.config, options);
      // A graph instrumented twice: each instrumentation's root run around the next one's, with the same run id.
      let iterate = (o: StreamOptions): AsyncGenerator<unknown> => super._streamIterator(input, o);
      for (const source of sources) {
        const next = iterate;
        iterate = (o) => source.root(input, o, metadata, next);
      }
      return iterate(options ?? {});
    }

    override _runLoop(params: { loop: object; config?: StreamOptions }): Promise<unknown> {
      for (const source of (this as unknown as Record<symbol, Attachment | undefined>)[ATTACHMENT]?.sources ?? [])
        source.noteLoop(params.config, params.loop);
      return super._runLoop(params);
    }

    // Not an async method: a graph without abandon-aware handlers gets its stream back with no promise in between.
    override stream(input: unknown, options?: StreamOptions): Promise<unknown> {
      const callbacks = this.config?.callbacks;
      if (!hasAbandonAware(callbacks)) return super.stream(input, options);
      // The run id must be known before the run starts, to tell the handlers which run a cancel ended.
      const runId = options?.runId ?? uuidv7();
      const callerSignal = options?.signal instanceof AbortSignal && !options.signal.aborted ? options.signal : undefined;
      let runOptions: StreamOptions = options?.runId === undefined ? { ...options, runId } : (options as StreamOptions);
      // A run whose caller aborts gets no terminal callback from LangGraph either; watch the caller's signal until
      // the root run ends, then let go of it (a long-lived signal shared by many runs must not collect listeners).
      if (callerSignal !== undefined) runOptions = watchCallerSignal(runOptions, callerSignal, callbacks, runId);
      return super.stream(input, runOptions).then((stream) => {
        const signal = (stream as { signal?: unknown } | null)?.signal;
        if (signal instanceof AbortSignal && !signal.aborted) {
          signal.addEventListener("abort", () => notifyAbandoned(callbacks, runId), { once: true });
        }
        return stream;
      });
    }
  }
  // LangChain serialises runs by class name (`CompiledStateGraph`); tracers and LangSmith must see the same name.
  Object.defineProperty(Instrumented, "name", { value: Base.name });
  Object.defineProperty(Instrumented, INSTRUMENTED, { value: true });
  subclasses.set(Base, Instrumented);
  return Instrumented;
}

function resolveName(graph: InstrumentableGraph, name: unknown): string {
  if (name !== undefined) {
    if (typeof name !== "string" || name.trim() === "")
      throw new TypeError(`instrument(graph, options).name must be a non-empty string, got ${describe(name)}`);
    return name;
  }
  const own = (graph as { name?: unknown }).name;
  if (typeof own === "string" && own !== "") return own;
  const fromGetter = typeof graph.getName === "function" ? graph.getName() : undefined;
  return typeof fromGetter === "string" && fromGetter !== "" ? fromGetter : "LangGraph";
}

/**
 * Instruments a compiled graph: returns the same graph (same type and class name) whose graph runs and node runs
 * feed the metrics, tracing and logging signals, with the graph name on every series (wrapper metrics carry the
 * same `graph` label). A `StateGraph` graph reports its runs from its own nodes, and only the calls a node makes
 * (LLMs, tools) go through a LangChain callback handler, which exists only inside node runs; other graphs (the
 * functional API's `entrypoint`, `createAgent`'s wrapper, remote graphs) get one callback handler bound into their
 * run config. Works for every entry point (`invoke`, `stream` in any mode, `streamEvents`, `batch`) and keeps
 * `getState`, `updateState`, subgraph namespaces and stream cancellation intact.
 * @example
 * const metrics = createMetrics();
 * const graph = instrument(builder.compile({ checkpointer }), { metrics, tracing: true, name: "support-agent" });
 */
export function instrument<G extends InstrumentableGraph>(graph: G, options: InstrumentOptions = {}): G {
  return attach(graph, options, false);
}

/**
 * @internal `instrument()` with the callback handler bound at the graph whatever the graph's shape: the path other
 * graph shapes take. Tests compare both paths run by run.
 */
export function instrumentWithCallbacks<G extends InstrumentableGraph>(graph: G, options: InstrumentOptions = {}): G {
  return attach(graph, options, true);
}

/** @internal The handler `instrument()` created for `graph` (bound at the graph, or inside its node runs). */
export function instrumentHandlerOf(graph: unknown): InstrumentCallbackHandler | undefined {
  return (graph as Record<symbol, Attachment | undefined> | null)?.[ATTACHMENT]?.handler;
}

function attach<G extends InstrumentableGraph>(graph: G, options: InstrumentOptions, callbacksOnly: boolean): G {
  const where = "instrument(graph, options)";
  if (typeof graph !== "object" || graph === null || typeof graph.withConfig !== "function" || typeof graph.stream !== "function") {
    throw new TypeError(`instrument(graph) must be a compiled LangGraph graph (with withConfig and stream), got ${describe(graph)}`);
  }
  checkOptions(options, INSTRUMENT_OPTIONS, where);
  const name = resolveName(graph, options.name);
  const callbacks: BaseCallbackHandler[] = [];
  if (options.metrics !== undefined) callbacks.push(new MetricsCallbackHandler(coreOf(options.metrics, `${where}.metrics`), name));
  const tracing = options.tracing;
  if (tracing !== undefined && tracing !== false) callbacks.push(createTracingHandler(name, tracing));
  if (options.logger !== undefined) callbacks.push(createLoggingHandler(options.logger, name));
  // One handler forwarding to all signals: LangChain's per-handler dispatch cost is paid once. It also carries the
  // graph name to the resilience wrappers (through each node's config.callbacks), which costs nothing per run,
  // where a metadata entry would be copied into every child callback manager.
  const handler = new InstrumentCallbackHandler(callbacks, name);
  if (!callbacksOnly && canWrapNodes(graph)) {
    const wrapped = wrapGraph(graph, handler, name, tracing !== undefined && tracing !== false);
    if (wrapped !== undefined) return wrapped;
  }
  const bound = graph.withConfig({ callbacks: [handler] }) as G;
  const Base = (bound as object).constructor as GraphClass;
  const Instrumented = instrumentedClass(Base);
  const previous = (bound as unknown as Record<symbol, Attachment | undefined>)[ATTACHMENT];
  const attachment: Attachment = { handler, sources: previous?.sources ?? [] };
  try {
    // Exactly what Pregel.withConfig does (`new this.constructor({ ...this, config })`), with the subclass.
    return new Instrumented({ ...(bound as object), [ATTACHMENT]: attachment }) as unknown as G;
  } catch {
    // A graph class with another constructor still gets its handlers; only abandoned streams go unnoticed.
    return bound;
  }
}

/** The graph with its nodes reporting their runs; undefined when its class cannot be rebuilt with other nodes. */
function wrapGraph<G extends InstrumentableGraph>(
  graph: G,
  handler: InstrumentCallbackHandler,
  name: string,
  traced: boolean,
): G | undefined {
  const source = new GraphSource(handler.tracker, handler, traced ? withRunContext : undefined);
  const g = graph as unknown as Record<string, unknown> & { nodes: Parameters<GraphSource["wrapNodes"]>[0] };
  const Instrumented = instrumentedClass((graph as object).constructor as GraphClass);
  const previous = (graph as unknown as Record<symbol, Attachment | undefined>)[ATTACHMENT];
  const attachment: Attachment = { handler, sources: [...(previous?.sources ?? []), source] };
  try {
    return new Instrumented({
      ...g,
      nodes: source.wrapNodes(g.nodes),
      [ATTACHMENT]: attachment,
      // Where guardThreads and other wrappers of the graph read its name.
      [GRAPH_NAME_HANDLER_KEY]: name,
    }) as unknown as G;
  } catch {
    return undefined;
  }
}
