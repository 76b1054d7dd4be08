/**
 * LangChain callbacks as a run source: the adapter from callback arguments (as the CallbackManager really passes
 * them) to a {@link RunInput}. The kit's handlers and `InstrumentCallbackHandler` are all this adapter over a tracker.
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import { isOutputChunk } from "./facts.js";
import { RunTracker } from "./tracker.js";
import type { RunInput, RunMetadata, RunSink } from "./types.js";

type Metadata = Record<string, unknown> | undefined;

/** In the global symbol registry so the ESM and CommonJS copies of the kit find each other's sinks. */
export const RUN_SINK = Symbol.for("langgraph-ops.run-sink");

function classOf(serialized: Serialized | undefined): string | undefined {
  const id = serialized?.id;
  return Array.isArray(id) ? id[id.length - 1] : undefined;
}

/** @internal The sink a kit handler carries, when `handler` is one. */
export function sinkOf(handler: unknown): RunSink | undefined {
  return (handler as Record<symbol, RunSink | undefined> | null)?.[RUN_SINK];
}

/**
 * @internal A LangChain callback handler that reports every run event to {@link RunCallbackAdapter.input}. Holds no
 * per-run state of its own (LangChain may copy handlers when it builds child managers).
 */
export abstract class RunCallbackAdapter extends BaseCallbackHandler {
  override awaitHandlers = true;
  override ignoreRetriever = true;
  override ignoreCustomEvent = true;

  /** Where run events go. */
  protected abstract get input(): RunInput;

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
    _runType?: string,
    runName?: string,
  ): void {
    this.input.chainStart({ runId, parentRunId, className: classOf(chain), runName, tags, metadata, inputs });
  }

  override handleChainEnd(outputs: unknown, runId: string): void {
    this.input.chainEnd(runId, outputs);
  }

  override handleChainError(error: unknown, runId: string): void {
    this.input.chainError(runId, error);
  }

  override handleToolStart(
    tool: Serialized,
    input: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    metadata?: Metadata,
    runName?: string,
    toolCallId?: string,
  ): void {
    this.input.toolStart({ runId, parentRunId, name: runName ?? classOf(tool), metadata, callId: toolCallId, input });
  }

  override handleToolEnd(output: unknown, runId: string): void {
    this.input.toolEnd(runId, output);
  }

  override handleToolError(error: unknown, runId: string): void {
    this.input.toolError(runId, error);
  }

  override handleChatModelStart(
    llm: Serialized,
    messages: BaseMessage[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Metadata,
  ): void {
    const invocation = extraParams?.invocation_params as RunMetadata | undefined;
    this.input.llmStart({ runId, parentRunId, operation: "chat", className: classOf(llm), metadata, invocation, input: messages });
  }

  override handleLLMStart(
    llm: Serialized,
    prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Metadata,
  ): void {
    const invocation = extraParams?.invocation_params as RunMetadata | undefined;
    this.input.llmStart({
      runId,
      parentRunId,
      operation: "text_completion",
      className: classOf(llm),
      metadata,
      invocation,
      input: prompts,
    });
  }

  override handleLLMNewToken(token: string, _idx: unknown, runId: string, _parentRunId?: string, _tags?: string[], fields?: unknown): void {
    this.input.llmToken(runId, isOutputChunk(token, (fields as { chunk?: unknown } | undefined)?.chunk));
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    this.input.llmEnd(runId, output);
  }

  override handleLLMError(error: unknown, runId: string): void {
    this.input.llmError(runId, error);
  }

  /** Called by LangGraph (>= 1.7) when the root graph pauses, including static `interruptBefore`/`interruptAfter`. */
  handleInterrupt(event: { runId?: string | undefined }): void {
    if (event?.runId !== undefined) this.input.interrupt(event.runId);
  }

  /** @internal Called by `instrument()` when a stream is cancelled before its run ended (no callback follows then). */
  handleAbandonedRun(runId: string): void {
    this.input.abandon(runId);
  }
}

/**
 * @internal A kit handler used on its own (`graph.withConfig({ callbacks: [handler] })`): one sink over a tracker of
 * its own. Inside `InstrumentCallbackHandler` its sink joins the shared tracker instead and this tracker stays idle.
 */
export class SinkCallbackHandler extends RunCallbackAdapter {
  name: string;
  readonly [RUN_SINK]: RunSink;
  readonly #abandonAfterMs: number | undefined;
  #tracker: RunTracker | undefined;

  constructor(sink: RunSink, abandonAfterMs?: number) {
    super();
    this.name = sink.name;
    this[RUN_SINK] = sink;
    this.#abandonAfterMs = abandonAfterMs;
  }

  protected get input(): RunInput {
    // Built on first use: a sink already attached to a shared tracker must not be re-attached by construction.
    if (this.#tracker === undefined) {
      this.#tracker = new RunTracker([this[RUN_SINK]], this.#abandonAfterMs === undefined ? {} : { abandonAfterMs: this.#abandonAfterMs });
    }
    return this.#tracker;
  }
}
