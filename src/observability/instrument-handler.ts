/**
 * The one LangChain callback handler `instrument()` attaches. It forwards every event to the kit's signal handlers
 * (metrics, tracing, logging) in that order, in the caller's flow.
 *
 * LangChain pays per attached handler and per event: an AsyncLocalStorage frame, two promises, and a pass over the
 * handler list each time it builds a child callback manager. One forwarding handler pays that once for all signals,
 * which is most of what three separate handlers cost over a single no-op handler.
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import { GRAPH_NAME_HANDLER_KEY } from "../core/events.js";
import { METRICS_CORE } from "./metrics.js";
import { checkNestedRetries, watchNestedRetries } from "./nested-retries.js";

const GRAPH_CALLBACK_HANDLER = Symbol.for("langgraph.graph_callback_handler");

type Metadata = Record<string, unknown> | undefined;

/** The callback methods forwarded to the parts. */
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

/** A part as the forwarder sees it: its name, and whichever callback methods it implements. */
type Part = { readonly name: string } & Partial<Record<CallbackMethod, (...args: unknown[]) => unknown>>;

function warn(part: Part, method: string, error: unknown): void {
  // What LangChain prints for a failing handler; a signal handler's bug never fails the run or the other signals.
  console.warn(`Error in handler ${part.name}, ${method}: ${String(error)}`);
}

/**
 * Forwards LangChain callbacks to the kit's metrics, tracing and logging handlers. Created by `instrument()`;
 * exported for applications that attach callbacks themselves.
 * @example
 * const handler = new InstrumentCallbackHandler([new MetricsCallbackHandler(core, "support-agent")]);
 */
export class InstrumentCallbackHandler extends BaseCallbackHandler {
  override name = "langgraph-ops";
  override awaitHandlers = true;
  override ignoreRetriever = true;
  override ignoreCustomEvent = true;
  /** The handlers events are forwarded to, in order. */
  readonly parts: readonly BaseCallbackHandler[];
  readonly #parts: readonly Part[];
  readonly #graphName: string | undefined;

  /**
   * @param parts the kit's handlers, in the order they must hear each event (tracing before logging)
   * @param graphName the graph the handler is bound to: the resilience wrappers' `graph` label for its runs
   */
  constructor(parts: readonly BaseCallbackHandler[], graphName?: string) {
    super();
    this.parts = parts;
    this.#parts = parts as unknown as readonly Part[];
    this.#graphName = graphName;
    watchNestedRetries();
    const self = this as unknown as Record<symbol, unknown>;
    if (graphName !== undefined) {
      if (typeof graphName !== "string" || graphName === "") {
        throw new TypeError("InstrumentCallbackHandler(parts, graphName): graphName must be a non-empty string");
      }
      self[GRAPH_NAME_HANDLER_KEY] = graphName;
    }
    for (const part of parts) {
      const own = part as unknown as Record<symbol, unknown>;
      // Wrapper events find the metrics their run belongs to through this key; LangGraph (>= 1.7) calls
      // handleInterrupt only on handlers that carry the graph-callback mark.
      if (own[METRICS_CORE] !== undefined) self[METRICS_CORE] = own[METRICS_CORE];
      if (own[GRAPH_CALLBACK_HANDLER] === true) self[GRAPH_CALLBACK_HANDLER] = true;
    }
  }

  /**
   * Calls `method` on each part that has it, in order, with the callback's arguments as LangChain passed them; a
   * part that throws is reported and the others still hear the event. Positional arguments, not a closure or a
   * rest array: this runs for every run event of every instrumented graph.
   */
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
    for (const part of this.#parts) {
      const fn = part[method];
      if (fn === undefined) continue;
      try {
        fn.call(part, a, b, c, d, e, f, g, h);
      } catch (error) {
        warn(part, method, error);
      }
    }
  }

  /** Holds no per-run state of its own; LangChain may copy handlers when it builds child managers. */
  override copy(): this {
    return this;
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
    this.#forward("handleChainStart", chain, inputs, runId, parentRunId, tags, metadata, runType, runName);
  }

  override handleChainEnd(outputs: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#forward("handleChainEnd", outputs, runId, parentRunId, tags);
  }

  override handleChainError(error: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#forward("handleChainError", error, runId, parentRunId, tags);
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
    this.#forward("handleToolStart", tool, input, runId, parentRunId, tags, metadata, runName, toolCallId);
  }

  override handleToolEnd(output: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#forward("handleToolEnd", output, runId, parentRunId, tags);
  }

  override handleToolError(error: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#forward("handleToolError", error, runId, parentRunId, tags);
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
    this.#forward("handleLLMStart", llm, prompts, runId, parentRunId, extraParams, tags, metadata, runName);
  }

  override handleLLMNewToken(token: string, idx: unknown, runId: string, parentRunId?: string, tags?: string[], fields?: unknown): void {
    this.#forward("handleLLMNewToken", token, idx, runId, parentRunId, tags, fields);
  }

  override handleLLMEnd(output: LLMResult, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#forward("handleLLMEnd", output, runId, parentRunId, tags);
  }

  override handleLLMError(error: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#forward("handleLLMError", error, runId, parentRunId, tags);
  }

  /** Called by LangGraph (>= 1.7) when the root graph pauses, including static `interruptBefore`/`interruptAfter`. */
  handleInterrupt(event: { runId?: string | undefined }): void {
    this.#forward("handleInterrupt", event);
  }

  /** @internal Called by `instrument()` when a stream is cancelled before its run ended (no callback follows then). */
  handleAbandonedRun(runId: string): void {
    this.#forward("handleAbandonedRun", runId);
  }
}
