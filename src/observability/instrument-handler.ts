/**
 * The one LangChain callback handler `instrument()` attaches: the callback source of one run tracker whose sinks are
 * the kit's metrics, tracing and logging. Each run is classified and parsed once, and every signal hears the same
 * start and end.
 *
 * LangChain pays per attached handler and per event: an AsyncLocalStorage frame, two promises, and a pass over the
 * handler list each time it builds a child callback manager. One handler pays that once for all signals.
 */
import type { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import { GRAPH_NAME_HANDLER_KEY } from "../core/events.js";
import { METRICS_CORE } from "./metrics.js";
import { checkNestedRetries, watchNestedRetries } from "./nested-retries.js";
import { RunCallbackAdapter, sinkOf } from "./runs/callback-source.js";
import { RunTracker } from "./runs/tracker.js";
import type { RunInput, RunSink } from "./runs/types.js";

const GRAPH_CALLBACK_HANDLER = Symbol.for("langgraph.graph_callback_handler");

type Metadata = Record<string, unknown> | undefined;

/** The callback methods forwarded to handlers that are not the kit's. */
type CallbackMethod =
  | "handleChainStart"
  | "handleChainEnd"
  | "handleChainError"
  | "handleToolStart"
  | "handleToolEnd"
  | "handleToolError"
  | "handleChatModelStart"
  | "handleLLMStart"
  | "handleLLMNewToken"
  | "handleLLMEnd"
  | "handleLLMError"
  | "handleInterrupt"
  | "handleAbandonedRun";

/** A handler as the forwarder sees it: its name, and whichever callback methods it implements. */
type Part = { readonly name: string } & Partial<Record<CallbackMethod, (...args: unknown[]) => unknown>>;

function warn(part: Part, method: string, error: unknown): void {
  // What LangChain prints for a failing handler; a signal handler's bug never fails the run or the other signals.
  console.warn(`Error in handler ${part.name}, ${method}: ${String(error)}`);
}

/**
 * Feeds the kit's metrics, tracing and logging handlers from one run tracker; other handlers in `parts` get the
 * callbacks as LangChain passed them. Created by `instrument()`; exported for applications that attach callbacks
 * themselves.
 * @example
 * const handler = new InstrumentCallbackHandler([new MetricsCallbackHandler(core, "support-agent")]);
 */
export class InstrumentCallbackHandler extends RunCallbackAdapter {
  override name = "langgraph-ops";
  /** The handlers this one stands for, in order. */
  readonly parts: readonly BaseCallbackHandler[];
  readonly #tracker: RunTracker;
  /** Handlers that are not the kit's: forwarded raw. */
  readonly #others: readonly Part[];
  readonly #graphName: string | undefined;

  /**
   * @param parts the kit's handlers (and any others), in the order they must hear each event (tracing before logging)
   * @param graphName the graph the handler is bound to: the resilience wrappers' `graph` label for its runs
   */
  constructor(parts: readonly BaseCallbackHandler[], graphName?: string) {
    super();
    this.parts = parts;
    this.#graphName = graphName;
    watchNestedRetries();
    const self = this as unknown as Record<symbol, unknown>;
    if (graphName !== undefined) {
      if (typeof graphName !== "string" || graphName === "") {
        throw new TypeError("InstrumentCallbackHandler(parts, graphName): graphName must be a non-empty string");
      }
      self[GRAPH_NAME_HANDLER_KEY] = graphName;
    }
    const sinks: RunSink[] = [];
    const others: Part[] = [];
    for (const part of parts) {
      const own = part as unknown as Record<symbol, unknown>;
      // Wrapper events find the metrics their run belongs to through this key; LangGraph (>= 1.7) calls
      // handleInterrupt only on handlers that carry the graph-callback mark.
      if (own[METRICS_CORE] !== undefined) self[METRICS_CORE] = own[METRICS_CORE];
      if (own[GRAPH_CALLBACK_HANDLER] === true) self[GRAPH_CALLBACK_HANDLER] = true;
      const sink = sinkOf(part);
      if (sink !== undefined) sinks.push(sink);
      else others.push(part as unknown as Part);
    }
    this.#tracker = new RunTracker(sinks);
    this.#others = others;
  }

  protected get input(): RunInput {
    return this.#tracker;
  }

  /** @internal The tracker behind the handler: `instrument()` feeds graph and node runs into it directly. */
  get tracker(): RunTracker {
    return this.#tracker;
  }

  /** Positional arguments, not a closure or a rest array: this runs for every run event when other handlers are given. */
  #forward(
    method: CallbackMethod,
    a?: unknown,
    b?: unknown,
    c?: unknown,
    d?: unknown,
    e?: unknown,
    f?: unknown,
    g?: unknown,
    h?: unknown,
  ): void {
    for (const part of this.#others) {
      const fn = part[method];
      if (fn === undefined) continue;
      try {
        fn.call(part, a, b, c, d, e, f, g, h);
      } catch (error) {
        warn(part, method, error);
      }
    }
  }

  override handleChainStart(
    chain: Serialized,
    inputs: unknown,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Metadata,
    runType?: string,
    runName?: string,
  ): void {
    super.handleChainStart(chain, inputs, runId, parentRunId, tags, metadata, runType, runName);
    if (this.#others.length > 0) this.#forward("handleChainStart", chain, inputs, runId, parentRunId, tags, metadata, runType, runName);
  }

  override handleChainEnd(outputs: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    super.handleChainEnd(outputs, runId);
    if (this.#others.length > 0) this.#forward("handleChainEnd", outputs, runId, parentRunId, tags);
  }

  override handleChainError(error: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    super.handleChainError(error, runId);
    if (this.#others.length > 0) this.#forward("handleChainError", error, runId, parentRunId, tags);
  }

  override handleToolStart(
    tool: Serialized,
    input: string,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Metadata,
    runName?: string,
    toolCallId?: string,
  ): void {
    super.handleToolStart(tool, input, runId, parentRunId, tags, metadata, runName, toolCallId);
    if (this.#others.length > 0) this.#forward("handleToolStart", tool, input, runId, parentRunId, tags, metadata, runName, toolCallId);
  }

  override handleToolEnd(output: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    super.handleToolEnd(output, runId);
    if (this.#others.length > 0) this.#forward("handleToolEnd", output, runId, parentRunId, tags);
  }

  override handleToolError(error: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    super.handleToolError(error, runId);
    if (this.#others.length > 0) this.#forward("handleToolError", error, runId, parentRunId, tags);
  }

  override handleChatModelStart(
    llm: Serialized,
    messages: BaseMessage[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Metadata,
    runName?: string,
  ): void {
    checkNestedRetries(this.#graphName, llm, metadata);
    super.handleChatModelStart(llm, messages, runId, parentRunId, extraParams, tags, metadata);
    if (this.#others.length > 0)
      this.#forward("handleChatModelStart", llm, messages, runId, parentRunId, extraParams, tags, metadata, runName);
  }

  override handleLLMStart(
    llm: Serialized,
    prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Metadata,
    runName?: string,
  ): void {
    super.handleLLMStart(llm, prompts, runId, parentRunId, extraParams, tags, metadata);
    if (this.#others.length > 0) this.#forward("handleLLMStart", llm, prompts, runId, parentRunId, extraParams, tags, metadata, runName);
  }

  override handleLLMNewToken(token: string, idx: unknown, runId: string, parentRunId?: string, tags?: string[], fields?: unknown): void {
    super.handleLLMNewToken(token, idx, runId, parentRunId, tags, fields);
    if (this.#others.length > 0) this.#forward("handleLLMNewToken", token, idx, runId, parentRunId, tags, fields);
  }

  override handleLLMEnd(output: LLMResult, runId: string, parentRunId?: string, tags?: string[]): void {
    super.handleLLMEnd(output, runId);
    if (this.#others.length > 0) this.#forward("handleLLMEnd", output, runId, parentRunId, tags);
  }

  override handleLLMError(error: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    super.handleLLMError(error, runId);
    if (this.#others.length > 0) this.#forward("handleLLMError", error, runId, parentRunId, tags);
  }

  override handleInterrupt(event: { runId?: string | undefined }): void {
    super.handleInterrupt(event);
    if (this.#others.length > 0) this.#forward("handleInterrupt", event);
  }

  override handleAbandonedRun(runId: string): void {
    super.handleAbandonedRun(runId);
    if (this.#others.length > 0) this.#forward("handleAbandonedRun", runId);
  }
}
