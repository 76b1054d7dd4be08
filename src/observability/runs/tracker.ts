/**
 * The run tracker: turns what a source reports ({@link RunInput}) into one record per run, classified once, and
 * tells every sink the same start and end, with the same status, error type, model, provider and tokens.
 *
 * Pass-through runs (LangGraph internals, edge lambdas, nested graph roots, user chains) map to their nearest tracked
 * ancestor so children link up. Records whose end never comes are swept after `abandonAfterMs`, so memory stays
 * bounded by the runs in flight.
 */
import { isGraphBubbleUp, isGraphInterrupt } from "@langchain/langgraph";
import { classifyChainRun } from "./classify.js";
import { addCall, callCost } from "../cost.js";
import { NO_PRICES, type PriceBook } from "../prices.js";
import { errorType, isAbortError, modelName, providerName, responseModel, tokenUsage, type LlmOutputLike } from "./facts.js";
import type { ChainStart, LlmStart, RunEnd, RunInput, RunKind, RunSink, RunStatus, RunTracking, ToolStart, TrackedRun } from "./types.js";

/** Default age after which an open record counts as abandoned (one hour, as the tracing option's default). */
export const DEFAULT_ABANDON_AFTER_MS = 3_600_000;
const SWEEP_INTERVAL_MS = 60_000;

/** Stands for a parentless run that is not a graph run, so its children are not mistaken for graph runs. */
const DETACHED = Symbol("detached");

type Entry = TrackedRun | typeof DETACHED;

const now = (): number => performance.now();

/** @internal Options of a {@link RunTracker}. */
export interface RunTrackerOptions {
  /** Age (ms) after which a record whose end never came is swept as abandoned. */
  abandonAfterMs?: number;
}

/** @internal One tracker per instrumented graph; see the module comment. */
export class RunTracker implements RunInput, RunTracking {
  readonly #sinks: readonly RunSink[];
  readonly #runs = new Map<string, Entry>();
  readonly #abandonAfterMs: number;
  /** The price table of the first sink that carries one: every sink hears the same cost. */
  readonly #prices: PriceBook;
  /** Sinks that hear each streamed output chunk. */
  readonly #chunkSinks: readonly RunSink[];
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(sinks: readonly RunSink[], options: RunTrackerOptions = {}) {
    this.#sinks = sinks;
    let abandonAfterMs = options.abandonAfterMs ?? DEFAULT_ABANDON_AFTER_MS;
    for (const sink of sinks)
      if (sink.abandonAfterMs !== undefined && sink.abandonAfterMs < abandonAfterMs) abandonAfterMs = sink.abandonAfterMs;
    this.#abandonAfterMs = abandonAfterMs;
    this.#prices = sinks.find((sink) => sink.prices !== undefined)?.prices ?? NO_PRICES;
    this.#chunkSinks = sinks.filter((sink) => sink.chunk !== undefined);
    for (let slot = 0; slot < sinks.length; slot++) (sinks[slot] as RunSink).attach(slot, this);
  }

  /** Run ids tracked (own records and pass-through ids); 0 when idle. */
  get size(): number {
    return this.#runs.size;
  }

  #set(id: string, entry: Entry): void {
    this.#runs.set(id, entry);
    if (this.#sweeper === undefined) {
      this.#sweeper = setInterval(() => this.sweep(now()), SWEEP_INTERVAL_MS);
      // Bookkeeping only: never keep the process alive for it.
      this.#sweeper.unref();
    }
  }

  #delete(id: string): void {
    this.#runs.delete(id);
  }

  #tracked(id: string | undefined): TrackedRun | undefined {
    if (id === undefined) return undefined;
    const entry = this.#runs.get(id);
    return entry === undefined || entry === DETACHED ? undefined : entry;
  }

  #open(
    id: string,
    kind: RunKind,
    name: string,
    parentRunId: string | undefined,
    parent: TrackedRun | undefined,
    metadata: TrackedRun["metadata"],
    extra?: Partial<Pick<TrackedRun, "task" | "retried" | "llm" | "callId">>,
  ): TrackedRun {
    const run: TrackedRun = {
      id,
      kind,
      name,
      parentRunId,
      parent,
      root: parent?.root,
      metadata,
      startMs: now(),
      task: extra?.task,
      retried: extra?.retried ?? false,
      llm: extra?.llm,
      callId: extra?.callId,
      interrupted: false,
      failedTasks: undefined,
      firstChunkMs: 0,
      lastChunkMs: 0,
      chunks: 0,
      usage: undefined,
      slots: new Array(this.#sinks.length),
    };
    if (kind === "root") (run as { root: TrackedRun | undefined }).root = run;
    this.#set(id, run);
    return run;
  }

  #start(run: TrackedRun, input: unknown): void {
    for (const sink of this.#sinks) {
      try {
        sink.start(run, input);
      } catch (error) {
        warn(sink, "start", error);
      }
    }
  }

  #end(run: TrackedRun, end: RunEnd): void {
    for (const sink of this.#sinks) {
      try {
        sink.end(run, end);
      } catch (error) {
        warn(sink, "end", error);
      }
    }
  }

  /** Takes the record `id` stands for if it is the run's own; forgets a pass-through id (telling the sinks). */
  #take(id: string, kind?: RunKind): TrackedRun | undefined {
    const entry = this.#runs.get(id);
    if (entry === undefined) return undefined;
    if (entry === DETACHED || entry.id !== id) {
      this.#delete(id);
      if (entry !== DETACHED) this.#passThroughEnded(id);
      return undefined;
    }
    if (kind !== undefined && entry.kind !== kind) return undefined;
    this.#delete(id);
    return entry;
  }

  chainStart(s: ChainStart): void {
    if (this.#runs.has(s.runId)) return;
    const parentEntry = s.parentRunId === undefined ? undefined : this.#runs.get(s.parentRunId);
    const kind = classifyChainRun(s.className, s.parentRunId, parentEntry !== undefined, s.tags, s.metadata, s.runName);
    if (kind === "foreign") return;
    if (kind === "detached") {
      this.#set(s.runId, DETACHED);
      return;
    }
    if (kind === "root") {
      this.#startRoot(s.runId, s.parentRunId, s.metadata, s.inputs);
      return;
    }
    if (parentEntry === DETACHED || parentEntry === undefined) {
      // Under a detached run: nothing is a graph run there, but children still link up.
      this.#set(s.runId, DETACHED);
      return;
    }
    if (kind !== "node") {
      this.#set(s.runId, parentEntry);
      // Hidden runs (channel writes, `__start__`) are never a node function's parent: no sink needs their ids.
      if (kind !== "hidden") for (const sink of this.#sinks) sink.passThrough?.(s.runId, parentEntry);
      return;
    }
    this.#startNode(s.runId, s.parentRunId, parentEntry, s.runName as string, s.metadata, s.inputs);
  }

  #startRoot(runId: string, parentRunId: string | undefined, metadata: TrackedRun["metadata"], inputs: unknown): TrackedRun {
    const run = this.#open(runId, "root", "", parentRunId, undefined, metadata);
    this.#start(run, inputs);
    return run;
  }

  #startNode(
    runId: string,
    parentRunId: string | undefined,
    parent: TrackedRun,
    name: string,
    metadata: TrackedRun["metadata"],
    inputs: unknown,
  ): TrackedRun {
    const taskNs = metadata?.langgraph_checkpoint_ns;
    const task = typeof taskNs === "string" ? taskNs : undefined;
    // A RetryPolicy re-run: an earlier attempt of the same task failed.
    const retried = task !== undefined && parent.root?.failedTasks?.has(task) === true;
    const run = this.#open(runId, "node", name, parentRunId, parent, metadata, { task, retried });
    this.#start(run, inputs);
    return run;
  }

  /** A graph's own root run, reported by the graph (not a callback); undefined when `runId` is already tracked. */
  rootStart(runId: string, metadata: TrackedRun["metadata"], inputs: unknown): TrackedRun | undefined {
    if (this.#runs.has(runId)) return undefined;
    return this.#startRoot(runId, undefined, metadata, inputs);
  }

  /** A node attempt under `parent`, reported by the node's own runnable; undefined when `runId` is already tracked. */
  nodeStart(runId: string, parent: TrackedRun, name: string, metadata: TrackedRun["metadata"], inputs: unknown): TrackedRun | undefined {
    if (this.#runs.has(runId)) return undefined;
    return this.#startNode(runId, parent.id, parent, name, metadata, inputs);
  }

  /** Whether `run` is a record of this tracker that has not ended. */
  isOpen(run: TrackedRun): boolean {
    return this.#runs.get(run.id) === run;
  }

  chainEnd(runId: string, outputs: unknown): void {
    const run = this.#take(runId);
    if (run === undefined || (run.kind !== "root" && run.kind !== "node")) return;
    let status: RunStatus = "success";
    if (run.kind === "root" && (run.interrupted || (outputs !== null && typeof outputs === "object" && "__interrupt__" in outputs)))
      status = "interrupted";
    this.#end(run, ended(status, undefined, outputs, undefined, false, undefined));
  }

  chainError(runId: string, error: unknown): void {
    const run = this.#take(runId);
    if (run === undefined || (run.kind !== "root" && run.kind !== "node")) return;
    if (isGraphInterrupt(error)) {
      const first = !run.interrupted;
      if (run.kind === "node") {
        if (run.parent?.kind === "node") run.parent.interrupted = true;
        if (run.root !== undefined) run.root.interrupted = true;
      }
      this.#end(run, ended("interrupted", error, undefined, "interrupt", first, undefined));
      return;
    }
    if (isGraphBubbleUp(error)) {
      // ParentCommand and friends are control flow: a node did its job; a root hands control back to its caller.
      this.#end(run, ended(run.kind === "root" ? "interrupted" : "success", error, undefined, "bubble_up", false, undefined));
      return;
    }
    if (isAbortError(error)) {
      this.#end(run, ended("cancelled", error, undefined, undefined, false, undefined));
      return;
    }
    const root = run.root;
    if (run.kind === "node" && root !== undefined && run.task !== undefined) {
      if (root.failedTasks === undefined) root.failedTasks = new Set();
      root.failedTasks.add(run.task);
    }
    this.#end(run, ended("error", error, undefined, undefined, false, undefined));
  }

  toolStart(s: ToolStart): void {
    if (this.#runs.has(s.runId)) return;
    const parent = this.#tracked(s.parentRunId);
    const run = this.#open(s.runId, "tool", s.name ?? "tool", s.parentRunId, parent, s.metadata, { callId: s.callId });
    this.#start(run, s.input);
  }

  toolEnd(runId: string, output: unknown): void {
    const run = this.#take(runId, "tool");
    if (run !== undefined) this.#end(run, ended("success", undefined, output, undefined, false, undefined));
  }

  toolError(runId: string, error: unknown): void {
    const run = this.#take(runId, "tool");
    if (run === undefined) return;
    if (isGraphInterrupt(error)) {
      if (run.root !== undefined) run.root.interrupted = true;
      this.#end(run, ended("interrupted", error, undefined, "interrupt", true, undefined));
    } else if (isGraphBubbleUp(error)) this.#end(run, ended("success", error, undefined, "bubble_up", false, undefined));
    else if (isAbortError(error)) this.#end(run, ended("cancelled", error, undefined, undefined, false, undefined));
    else this.#end(run, ended("error", error, undefined, undefined, false, undefined));
  }

  llmStart(s: LlmStart): void {
    if (this.#runs.has(s.runId)) return;
    const parent = this.#tracked(s.parentRunId);
    const rawProvider = s.metadata?.ls_provider;
    const llm = {
      operation: s.operation,
      provider: providerName(typeof rawProvider === "string" && rawProvider !== "" ? rawProvider : s.className),
      model: modelName(s.metadata, s.invocation),
      invocation: s.invocation,
    };
    this.#start(this.#open(s.runId, "llm", llm.model, s.parentRunId, parent, s.metadata, { llm }), s.input);
  }

  llmToken(runId: string, output: boolean): void {
    if (!output) return;
    const entry = this.#runs.get(runId);
    if (entry === undefined || entry === DETACHED || entry.id !== runId || entry.kind !== "llm") return;
    const at = now();
    if (entry.firstChunkMs === 0) entry.firstChunkMs = at;
    entry.chunks += 1;
    for (const sink of this.#chunkSinks) {
      try {
        sink.chunk?.(entry, at);
      } catch (error) {
        warn(sink, "chunk", error);
      }
    }
    entry.lastChunkMs = at;
  }

  llmEnd(runId: string, output: unknown): void {
    const run = this.#take(runId, "llm");
    if (run === undefined) return;
    const result = output as LlmOutputLike;
    const usage = tokenUsage(result);
    // Priced here, once: the call's metrics, its span and its run's totals all carry this one number.
    const cost = callCost(usage, responseModel(result), (run.llm as NonNullable<TrackedRun["llm"]>).model, this.#prices);
    const root = run.root;
    if (cost !== undefined && root !== undefined) root.usage = addCall(root.usage, usage, cost);
    this.#end(run, { ...ended("success", undefined, output, undefined, false, usage), cost });
  }

  llmError(runId: string, error: unknown): void {
    const run = this.#take(runId, "llm");
    if (run === undefined) return;
    if (isGraphBubbleUp(error))
      this.#end(run, ended("interrupted", error, undefined, isGraphInterrupt(error) ? "interrupt" : "bubble_up", true, undefined));
    else if (isAbortError(error)) this.#end(run, ended("cancelled", error, undefined, undefined, false, undefined));
    else this.#end(run, ended("error", error, undefined, undefined, false, undefined));
  }

  interrupt(runId: string): void {
    const run = this.#tracked(runId);
    if (run?.kind === "root" && run.id === runId) run.interrupted = true;
  }

  abandon(runId: string): void {
    const root = this.#tracked(runId);
    if (root === undefined || root.kind !== "root" || root.id !== runId) return;
    this.#endAll((entry) => entry === root || entry.root === root, "cancelled");
  }

  /** Ends, as abandoned, every record older than `abandonAfterMs` at `nowMs` (`performance.now()` scale); returns how many. */
  sweep(nowMs: number): number {
    const ended = this.#endAll((entry) => nowMs - entry.startMs >= this.#abandonAfterMs, "abandoned");
    // The timer stops only here, once idle: stopping it whenever the table empties would start one per run.
    if (this.#runs.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
    return ended;
  }

  #passThroughEnded(id: string): void {
    for (const sink of this.#sinks) sink.passThrough?.(id, undefined);
  }

  /** Ends the matching records innermost first (children were registered after their parents); forgets their pass-through ids. */
  #endAll(match: (run: TrackedRun) => boolean, status: "cancelled" | "abandoned"): number {
    const own: TrackedRun[] = [];
    for (const [id, entry] of this.#runs) {
      if (entry === DETACHED || !match(entry)) continue;
      if (entry.id === id) own.push(entry);
      else {
        this.#runs.delete(id);
        this.#passThroughEnded(id);
      }
    }
    own.reverse();
    for (const run of own) {
      this.#delete(run.id);
      this.#end(run, ended(status, undefined, undefined, undefined, false, undefined));
    }
    if (status === "abandoned") {
      // Detached ids have no start time: they go with the records they were opened under, or once nothing is open.
      let open = false;
      for (const entry of this.#runs.values()) if (entry !== DETACHED) open = true;
      if (!open) for (const id of [...this.#runs.keys()]) this.#delete(id);
    }
    return own.length;
  }
}

function warn(sink: RunSink, what: string, error: unknown): void {
  // What LangChain prints for a failing handler; a sink's bug never fails the run or the other signals.
  console.warn(`Error in handler ${sink.name}, ${what}: ${String(error)}`);
}

function ended(
  status: RunStatus,
  error: unknown,
  output: unknown,
  control: RunEnd["control"],
  firstInterrupt: boolean,
  usage: RunEnd["usage"],
): RunEnd {
  return {
    status,
    endMs: now(),
    error,
    errorType: status === "error" ? errorType(error) : status === "cancelled" || status === "abandoned" ? status : undefined,
    control,
    firstInterrupt,
    output,
    usage,
    cost: undefined,
  };
}
