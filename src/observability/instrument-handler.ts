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
import { METRICS_CORE } from "./metrics.js";

const GRAPH_CALLBACK_HANDLER = Symbol.for("langgraph.graph_callback_handler");

type Metadata = Record<string, unknown> | undefined;

/** The callback methods a part may implement, with the argument order LangChain really uses. */
interface Part {
  readonly name: string;
  handleChainStart?(
    chain: Serialized,
    inputs: unknown,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Metadata,
    runType?: string,
    runName?: string,
  ): unknown;
  handleChainEnd?(outputs: unknown, runId: string, parentRunId?: string, tags?: string[], kwargs?: unknown): unknown;
  handleChainError?(error: unknown, runId: string, parentRunId?: string, tags?: string[], kwargs?: unknown): unknown;
  handleToolStart?(
    tool: Serialized,
    input: string,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Metadata,
    runName?: string,
    toolCallId?: string,
  ): unknown;
  handleToolEnd?(output: unknown, runId: string, parentRunId?: string, tags?: string[]): unknown;
  handleToolError?(error: unknown, runId: string, parentRunId?: string, tags?: string[]): unknown;
  handleChatModelStart?(
    llm: Serialized,
    messages: BaseMessage[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Metadata,
    runName?: string,
  ): unknown;
  handleLLMStart?(
    llm: Serialized,
    prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Metadata,
    runName?: string,
  ): unknown;
  handleLLMNewToken?(token: string, idx: unknown, runId: string, parentRunId?: string, tags?: string[], fields?: unknown): unknown;
  handleLLMEnd?(output: LLMResult, runId: string, parentRunId?: string, tags?: string[], extraParams?: Record<string, unknown>): unknown;
  handleLLMError?(error: unknown, runId: string, parentRunId?: string, tags?: string[], extraParams?: Record<string, unknown>): unknown;
  handleInterrupt?(event: { runId?: string | undefined }): unknown;
  handleAbandonedRun?(runId: string): void;
}

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

  /** @param parts the kit's handlers, in the order they must hear each event (tracing before logging) */
  constructor(parts: readonly BaseCallbackHandler[]) {
    super();
    this.parts = parts;
    this.#parts = parts as unknown as readonly Part[];
    const self = this as unknown as Record<symbol, unknown>;
    for (const part of parts) {
      const own = part as unknown as Record<symbol, unknown>;
      // Wrapper events find the metrics their run belongs to through this key; LangGraph (>= 1.7) calls
      // handleInterrupt only on handlers that carry the graph-callback mark.
      if (own[METRICS_CORE] !== undefined) self[METRICS_CORE] = own[METRICS_CORE];
      if (own[GRAPH_CALLBACK_HANDLER] === true) self[GRAPH_CALLBACK_HANDLER] = true;
    }
  }

  /** Calls each part in order; a part that throws is reported and the others still hear the event. */
  #each(method: string, call: (part: Part) => unknown): void {
    for (const part of this.#parts) {
      try {
        call(part);
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
    this.#each("handleChainStart", (part) => part.handleChainStart?.(chain, inputs, runId, parentRunId, tags, metadata, runType, runName));
  }

  override handleChainEnd(outputs: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#each("handleChainEnd", (part) => part.handleChainEnd?.(outputs, runId, parentRunId, tags));
  }

  override handleChainError(error: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#each("handleChainError", (part) => part.handleChainError?.(error, runId, parentRunId, tags));
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
    this.#each("handleToolStart", (part) => part.handleToolStart?.(tool, input, runId, parentRunId, tags, metadata, runName, toolCallId));
  }

  override handleToolEnd(output: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#each("handleToolEnd", (part) => part.handleToolEnd?.(output, runId, parentRunId, tags));
  }

  override handleToolError(error: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#each("handleToolError", (part) => part.handleToolError?.(error, runId, parentRunId, tags));
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
    this.#each("handleChatModelStart", (part) =>
      part.handleChatModelStart?.(llm, messages, runId, parentRunId, extraParams, tags, metadata, runName),
    );
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
    this.#each("handleLLMStart", (part) => part.handleLLMStart?.(llm, prompts, runId, parentRunId, extraParams, tags, metadata, runName));
  }

  override handleLLMNewToken(token: string, idx: unknown, runId: string, parentRunId?: string, tags?: string[], fields?: unknown): void {
    this.#each("handleLLMNewToken", (part) => part.handleLLMNewToken?.(token, idx, runId, parentRunId, tags, fields));
  }

  override handleLLMEnd(output: LLMResult, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#each("handleLLMEnd", (part) => part.handleLLMEnd?.(output, runId, parentRunId, tags));
  }

  override handleLLMError(error: unknown, runId: string, parentRunId?: string, tags?: string[]): void {
    this.#each("handleLLMError", (part) => part.handleLLMError?.(error, runId, parentRunId, tags));
  }

  /** Called by LangGraph (>= 1.7) when the root graph pauses, including static `interruptBefore`/`interruptAfter`. */
  handleInterrupt(event: { runId?: string | undefined }): void {
    this.#each("handleInterrupt", (part) => part.handleInterrupt?.(event));
  }

  /** @internal Called by `instrument()` when a stream is cancelled before its run ended (no callback follows then). */
  handleAbandonedRun(runId: string): void {
    this.#each("handleAbandonedRun", (part) => part.handleAbandonedRun?.(runId));
  }
}
