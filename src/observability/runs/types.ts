/**
 * The run model: what a source reports about runs ({@link RunInput}), the one record the tracker keeps per run
 * ({@link TrackedRun}) and what it tells the signals ({@link RunSink}). The callback handler is one source; another
 * (the graph's own nodes) can feed the same tracker through the same interface.
 */
import type { LlmCost, RunUsage } from "../cost.js";
import type { PriceBook } from "../prices.js";
import type { TokenUsage } from "./facts.js";

/** @internal Metadata a run was started with. */
export type RunMetadata = Readonly<Record<string, unknown>>;

/** @internal A chain run as a source reports it. */
export interface ChainStart {
  readonly runId: string;
  readonly parentRunId: string | undefined;
  /** The runnable's class name (last element of LangChain's serialized id). */
  readonly className: string | undefined;
  readonly runName: string | undefined;
  readonly tags: readonly string[] | undefined;
  readonly metadata: RunMetadata | undefined;
  readonly inputs: unknown;
}

/** @internal A tool run as a source reports it. */
export interface ToolStart {
  readonly runId: string;
  readonly parentRunId: string | undefined;
  /** Run name, else the tool class name. */
  readonly name: string | undefined;
  readonly metadata: RunMetadata | undefined;
  readonly callId: string | undefined;
  readonly input: unknown;
}

/** @internal An LLM run as a source reports it. */
export interface LlmStart {
  readonly runId: string;
  readonly parentRunId: string | undefined;
  readonly operation: "chat" | "text_completion";
  readonly className: string | undefined;
  readonly metadata: RunMetadata | undefined;
  readonly invocation: RunMetadata | undefined;
  /** Prompt messages (chat) or prompts (completion), for content capture only. */
  readonly input: unknown;
}

/** @internal What a source reports; every method is cheap and never throws for unknown run ids. */
export interface RunInput {
  chainStart(start: ChainStart): void;
  chainEnd(runId: string, outputs: unknown): void;
  chainError(runId: string, error: unknown): void;
  toolStart(start: ToolStart): void;
  toolEnd(runId: string, output: unknown): void;
  toolError(runId: string, error: unknown): void;
  llmStart(start: LlmStart): void;
  /** A streamed chunk; `output`: it carries text or a tool-call fragment (not a role-only or usage-only chunk). */
  llmToken(runId: string, output: boolean): void;
  llmEnd(runId: string, output: unknown): void;
  llmError(runId: string, error: unknown): void;
  /** The root run paused (LangGraph's interrupt notice, static breakpoints included). */
  interrupt(runId: string): void;
  /** A caller cancelled the root run's stream; no end follows. */
  abandon(runId: string): void;
}

/** @internal What a run is to the kit. */
export type RunKind = "root" | "node" | "tool" | "llm";

/** @internal How a run ended. `abandoned`: no end ever came and the record was swept. */
export type RunStatus = "success" | "error" | "interrupted" | "cancelled" | "abandoned";

/** @internal The facts of an LLM run, parsed once at start. */
export interface LlmFacts {
  readonly operation: "chat" | "text_completion";
  /** `gen_ai.provider.name`: LangChain's `ls_provider` mapped to the GenAI well-known names. */
  readonly provider: string;
  readonly model: string;
  readonly invocation: RunMetadata | undefined;
}

/** @internal The one record of an open run, shared by every sink. */
export interface TrackedRun {
  readonly id: string;
  readonly kind: RunKind;
  /** Node name, tool name, or the model for LLM runs; the graph's name is the sink's own. */
  readonly name: string;
  /** The id the source gave as parent (may be a pass-through run's). */
  readonly parentRunId: string | undefined;
  /** The nearest tracked ancestor. */
  readonly parent: TrackedRun | undefined;
  /** The graph run this run belongs to (itself for a root); undefined under a parentless run that is not a graph. */
  readonly root: TrackedRun | undefined;
  readonly metadata: RunMetadata | undefined;
  /** `performance.now()` at start. */
  readonly startMs: number;
  /** Node runs: the task namespace (`langgraph_checkpoint_ns`). */
  readonly task: string | undefined;
  /** Node runs: an earlier attempt of the same task failed (a RetryPolicy re-run). */
  readonly retried: boolean;
  /** LLM runs only. */
  readonly llm: LlmFacts | undefined;
  /** Tool runs: the tool call id. */
  readonly callId: string | undefined;
  /** Roots: the run is paused; nodes: a node below already reported the interrupt. */
  interrupted: boolean;
  /** Roots: task namespaces of node attempts that failed. */
  failedTasks: Set<string> | undefined;
  /** LLM runs: `performance.now()` of the first streamed output chunk (0 = none). */
  firstChunkMs: number;
  /** LLM runs: `performance.now()` of the latest streamed output chunk (0 = none). */
  lastChunkMs: number;
  /** LLM runs: streamed output chunks so far. */
  chunks: number;
  /** Roots: tokens and cost of the run's LLM calls so far (undefined until one reports tokens). */
  usage: RunUsage | undefined;
  /** One slot per sink, for what that sink keeps of the run (its span, its label objects). */
  readonly slots: unknown[];
}

/** @internal How a run ended, as every sink hears it. */
export interface RunEnd {
  readonly status: RunStatus;
  /** `performance.now()` at the end. */
  readonly endMs: number;
  /** The error for `error`, `cancelled` and control-flow ends. */
  readonly error: unknown;
  /** `error` ends: the class name; `cancelled`: "cancelled"; `abandoned`: "abandoned". */
  readonly errorType: string | undefined;
  /** A LangGraph control-flow error (interrupt, parent command) ended the run. */
  readonly control: "interrupt" | "bubble_up" | undefined;
  /** Nodes ended by an interrupt: the first one in the chain to report it (counted once). */
  readonly firstInterrupt: boolean;
  /** Outputs (chains, tools) or the LLM result. */
  readonly output: unknown;
  /** LLM runs that succeeded: tokens by type. */
  readonly usage: TokenUsage | undefined;
  /** LLM runs that succeeded with tokens: their cost, priced once by the tracker. */
  readonly cost: LlmCost | undefined;
}

/** @internal A signal fed by the tracker. Sinks keep their per-run state in `run.slots[slot]`, never in maps of their own. */
export interface RunSink {
  readonly name: string;
  /** How long a run may stay open before its record is swept as abandoned; the tracker uses the shortest its sinks ask. */
  readonly abandonAfterMs?: number;
  /** The price table LLM calls are costed by; the tracker uses the first its sinks carry (the metrics' `prices`). */
  readonly prices?: PriceBook;
  /** Set by the tracker the sink is attached to. */
  attach(slot: number, tracker: RunTracking): void;
  /**
   * A streamed output chunk of LLM run `run` arrived at `nowMs` (`performance.now()`); `run.chunks` counts it already,
   * `run.lastChunkMs` is still the previous chunk's time (0 for the first).
   */
  chunk?(run: TrackedRun, nowMs: number): void;
  start(run: TrackedRun, input: unknown): void;
  end(run: TrackedRun, end: RunEnd): void;
  /**
   * A run with no record of its own (a nested graph's run, an edge, a user chain inside a node; not hidden runs)
   * started inside `ancestor`, or ended (`ancestor` undefined).
   */
  passThrough?(runId: string, ancestor: TrackedRun | undefined): void;
}

/** @internal What a sink may ask of its tracker. */
export interface RunTracking {
  /** Run ids tracked (own and pass-through); 0 when idle. */
  readonly size: number;
}
