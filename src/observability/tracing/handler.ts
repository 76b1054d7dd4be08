/**
 * LangChain callback handler that turns a LangGraph run into OpenTelemetry spans: graph root → node (per attempt) →
 * `chat {model}` / `execute_tool {tool}`, parented by LangChain run ids. Only `@opentelemetry/api` is used here; the
 * SDK (or no SDK at all, which makes every call a no-op) is the application's choice.
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import type { ChainValues } from "@langchain/core/utils/types";
import { isGraphBubbleUp, isGraphInterrupt } from "@langchain/langgraph";
import { type Attributes, type Context, context, type Span, SpanKind } from "@opentelemetry/api";
import {
  ATTR,
  errorType,
  isAbort,
  llmAttributes,
  llmEndAttributes,
  modelName,
  nodeAttributes,
  rootAttributes,
  toolAttributes,
} from "./attributes.js";
import { installTracingBridge } from "./bridge.js";
import { recordError } from "./error-span.js";
import { classifyChainRun } from "./classify.js";
import { rememberInterrupted, takeResumeLink } from "./resume-links.js";
import { maskAndCap, toContentString, toGenAIMessage } from "./content.js";
import { type ResolvedTracingOptions, resolveTracingOptions, type TracingOptions } from "./options.js";
import { deleteRun, getRun, hasRun, type RunKind, type RunRecord, recordsOfRoot, setRun, spanContextOf } from "./registry.js";

export type { MaskFn, TracingOptions } from "./options.js";

type Metadata = Record<string, unknown>;

function nowMs(): number {
  // Sub-millisecond wall clock, the same scale the OpenTelemetry SDK uses for its own timestamps.
  return performance.timeOrigin + performance.now();
}

/** Marks `span` for a failed, interrupted or cancelled run; returns the run status it stands for. */
function recordFailure(span: Span, error: unknown, o: ResolvedTracingOptions): "error" | "interrupted" | "cancelled" {
  if (isGraphBubbleUp(error)) {
    // Control flow, not a failure: interrupts and parent commands leave the status unset.
    if (isGraphInterrupt(error)) {
      span.addEvent("langgraph.interrupt");
      return "interrupted";
    }
    span.addEvent("langgraph.bubble_up", { "langgraph.bubble_up.type": errorType(error) });
    return "interrupted";
  }
  if (isAbort(error)) {
    span.addEvent("langgraph.cancelled");
    span.setAttribute(ATTR.errorType, "cancelled");
    return "cancelled";
  }
  recordError(span, error, o);
  return "error";
}

/** The callback handler behind `instrument(graph, { tracing })`. */
class TracingHandler extends BaseCallbackHandler {
  name = "langgraph-ops-tracing";
  // Spans must exist before the node function runs (so the context bridge finds them) and carry the time the event
  // happened, not the time LangChain's background queue got round to it.
  override awaitHandlers = true;
  // Retriever and custom events carry nothing the kit records; skipping them saves a call per event.
  override ignoreRetriever = true;
  override ignoreCustomEvent = true;

  readonly #graph: string;
  readonly #o: ResolvedTracingOptions;
  readonly #rootBaseAttributes: { userId: ResolvedTracingOptions["userId"]; tags: string[] | undefined; agent: boolean };

  constructor(graph: string, options: ResolvedTracingOptions) {
    super();
    this.#graph = graph;
    this.#o = options;
    this.#rootBaseAttributes = { userId: options.userId, tags: options.tags, agent: options.kind === "agent" };
  }

  /** Handlers carry no per-run state of their own; LangChain may copy them when it builds child managers. */
  override copy(): this {
    return this;
  }

  #content(span: Span, attribute: string, value: unknown): void {
    const o = this.#o;
    span.setAttribute(attribute, maskAndCap(toContentString(value), attribute, o.mask, o.maxContentLength));
  }

  #open(
    runId: string,
    kind: RunKind,
    span: Span,
    base: Context,
    parent: RunRecord | undefined,
    node: string | undefined,
    start: number,
    thread?: string,
  ): RunRecord {
    const record: RunRecord = {
      runId,
      span,
      kind,
      owner: this,
      base,
      active: undefined,
      root: undefined,
      graph: parent?.graph ?? this.#graph,
      node,
      startMs: start,
      abandonAfterMs: this.#o.abandonAfterMs,
      calls: 0,
      firstChunkMs: 0,
      interrupted: false,
      thread: kind === "root" ? thread : undefined,
    };
    (record as { root: RunRecord | undefined }).root = kind === "root" ? record : parent?.root;
    setRun(runId, record);
    return record;
  }

  /** Takes the record of a run this handler must end, forgetting pass-through ids on the way. */
  #take(runId: string): RunRecord | undefined {
    const record = getRun(runId);
    if (record === undefined) return undefined;
    if (record.runId !== runId) {
      deleteRun(runId);
      return undefined;
    }
    if (record.owner !== this) return undefined;
    deleteRun(runId);
    return record;
  }

  // Parameter order is the one the CallbackManager really uses (parentRunId 4th, runType 7th, runName 8th), which
  // differs from the order in the base class's declaration; the types line up position by position.
  override handleChainStart(
    chain: Serialized,
    inputs: ChainValues,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Metadata,
    _runType?: string,
    runName?: string,
  ): void {
    if (hasRun(runId)) return;
    const parent = getRun(parentRunId);
    const kind = classifyChainRun(chain, parentRunId, parent !== undefined, tags, metadata, runName);
    if (kind === "root") {
      this.#startRoot(runId, inputs, metadata);
      return;
    }
    if (parent === undefined || kind === "hidden" || kind === "foreign") return;
    if (kind === "node") {
      const node = runName as string;
      const start = nowMs();
      const attrs = nodeAttributes(parent.graph, node, metadata);
      const span = this.#o.tracer.startSpan(node, { kind: SpanKind.INTERNAL, attributes: attrs, startTime: start }, spanContextOf(parent));
      if (this.#o.captureContent) this.#content(span, ATTR.lfInput, inputs);
      this.#open(runId, "node", span, parent.base, parent, node, start);
      return;
    }
    // Conditional edges, nested graph roots, user chains: no span of their own, children attach to the parent.
    setRun(runId, parent);
  }

  #startRoot(runId: string, inputs: ChainValues, metadata: Metadata | undefined): void {
    const start = nowMs();
    const base = context.active();
    const r = this.#rootBaseAttributes;
    let user: string | undefined;
    if (r.userId !== undefined) {
      try {
        user = r.userId(metadata ?? {});
      } catch {
        user = undefined;
      }
    }
    const attrs = rootAttributes(this.#graph, metadata, r.agent, user, r.tags);
    const links = takeResumeLink(metadata?.thread_id);
    const span = this.#o.tracer.startSpan(
      this.#graph,
      links === undefined
        ? { kind: SpanKind.INTERNAL, attributes: attrs, startTime: start }
        : { kind: SpanKind.INTERNAL, attributes: attrs, startTime: start, links },
      base,
    );
    if (this.#o.captureContent) this.#content(span, ATTR.lfInput, inputs);
    const thread = metadata?.thread_id;
    this.#open(runId, "root", span, base, undefined, undefined, start, typeof thread === "string" ? thread : undefined);
  }

  override handleChainEnd(outputs: ChainValues, runId: string): void {
    const record = this.#take(runId);
    if (record === undefined) return;
    const span = record.span;
    if (record.kind === "root") {
      const interrupted = record.interrupted || (outputs !== null && typeof outputs === "object" && "__interrupt__" in outputs);
      if (interrupted) {
        span.addEvent("langgraph.interrupt");
        const thread = record.thread;
        if (thread !== undefined) rememberInterrupted(thread, span.spanContext());
      }
      span.setAttribute(ATTR.runStatus, interrupted ? "interrupted" : "success");
    }
    if (this.#o.captureContent) this.#content(span, ATTR.lfOutput, outputs);
    span.end(nowMs());
  }

  override handleChainError(error: unknown, runId: string): void {
    const record = this.#take(runId);
    if (record === undefined) return;
    const status = recordFailure(record.span, error, this.#o);
    if (status === "interrupted" && record.root !== undefined) record.root.interrupted = true;
    if (record.kind === "root") record.span.setAttribute(ATTR.runStatus, status);
    record.span.end(nowMs());
  }

  #startLlm(
    llm: Serialized,
    runId: string,
    parentRunId: string | undefined,
    extra: Metadata | undefined,
    metadata: Metadata | undefined,
    chat: boolean,
  ): Span | undefined {
    if (hasRun(runId)) return undefined;
    void llm;
    const start = nowMs();
    const parent = getRun(parentRunId);
    const base = parent?.base ?? context.active();
    const invocation = extra?.invocation_params as Metadata | undefined;
    const model = modelName(metadata, invocation);
    const attrs: Attributes = llmAttributes(parent?.graph ?? this.#graph, metadata, invocation, model, chat);
    if (parent !== undefined && parent.kind === "node" && parent.calls > 0) attrs[ATTR.attempt] = parent.calls;
    const parentCtx = parent === undefined ? base : spanContextOf(parent);
    const span = this.#o.tracer.startSpan(
      `${chat ? "chat" : "text_completion"} ${model}`,
      { kind: SpanKind.CLIENT, attributes: attrs, startTime: start },
      parentCtx,
    );
    this.#open(runId, "llm", span, base, parent, undefined, start);
    return span;
  }

  override handleChatModelStart(
    llm: Serialized,
    messages: BaseMessage[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Metadata,
    _tags?: string[],
    metadata?: Metadata,
  ): void {
    const span = this.#startLlm(llm, runId, parentRunId, extraParams, metadata, true);
    if (span !== undefined && this.#o.captureContent) this.#content(span, ATTR.inputMessages, (messages[0] ?? []).map(toGenAIMessage));
  }

  override handleLLMStart(
    llm: Serialized,
    prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Metadata,
    _tags?: string[],
    metadata?: Metadata,
  ): void {
    const span = this.#startLlm(llm, runId, parentRunId, extraParams, metadata, false);
    if (span !== undefined && this.#o.captureContent) {
      this.#content(
        span,
        ATTR.inputMessages,
        prompts.map((p) => ({ role: "user", parts: [{ type: "text", content: p }] })),
      );
    }
  }

  override handleLLMNewToken(_token: string, _idx: unknown, runId: string): void {
    const record = getRun(runId);
    if (record !== undefined && record.runId === runId && record.firstChunkMs === 0) record.firstChunkMs = nowMs();
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    const record = this.#take(runId);
    if (record === undefined) return;
    const span = record.span;
    span.setAttributes(llmEndAttributes(output?.generations as Parameters<typeof llmEndAttributes>[0], output?.llmOutput));
    if (record.firstChunkMs > 0) {
      span.setAttribute(ATTR.requestStream, true);
      span.setAttribute(ATTR.timeToFirstChunk, (record.firstChunkMs - record.startMs) / 1000);
      span.setAttribute(ATTR.lfCompletionStart, new Date(record.firstChunkMs).toISOString());
    }
    if (this.#o.captureContent) {
      const generations = output?.generations?.[0] ?? [];
      const messages = generations.map((g) => {
        const message = (g as { message?: BaseMessage }).message;
        return message !== undefined ? toGenAIMessage(message) : { role: "assistant", parts: [{ type: "text", content: g.text }] };
      });
      this.#content(span, ATTR.outputMessages, messages);
    }
    span.end(nowMs());
  }

  override handleLLMError(error: unknown, runId: string): void {
    const record = this.#take(runId);
    if (record === undefined) return;
    recordFailure(record.span, error, this.#o);
    record.span.end(nowMs());
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
    if (hasRun(runId)) return;
    const start = nowMs();
    const parent = getRun(parentRunId);
    const base = parent?.base ?? context.active();
    const id = tool?.id;
    const name = runName ?? (Array.isArray(id) ? id[id.length - 1] : undefined) ?? "tool";
    const attrs = toolAttributes(parent?.graph ?? this.#graph, metadata, name, toolCallId);
    if (parent !== undefined && parent.kind === "node" && parent.calls > 0) attrs[ATTR.attempt] = parent.calls;
    const parentCtx = parent === undefined ? base : spanContextOf(parent);
    const span = this.#o.tracer.startSpan(
      `execute_tool ${name}`,
      { kind: SpanKind.INTERNAL, attributes: attrs, startTime: start },
      parentCtx,
    );
    if (this.#o.captureContent) this.#content(span, ATTR.toolArguments, input);
    this.#open(runId, "tool", span, base, parent, undefined, start);
  }

  override handleToolEnd(output: unknown, runId: string): void {
    const record = this.#take(runId);
    if (record === undefined) return;
    if (this.#o.captureContent) {
      const content = (output as { content?: unknown } | null)?.content;
      this.#content(record.span, ATTR.toolResult, content !== undefined ? content : output);
    }
    record.span.end(nowMs());
  }

  /**
   * Called by `instrument()` when a caller cancels a stream before the run ended: ends the run's open spans as
   * cancelled (LangGraph may send no end callback then).
   */
  handleAbandonedRun(runId: string): void {
    const root = getRun(runId);
    if (root === undefined || root.runId !== runId || root.owner !== this) return;
    const end = nowMs();
    for (const record of recordsOfRoot(root)) {
      deleteRun(record.runId);
      record.span.addEvent("langgraph.cancelled");
      record.span.setAttribute(ATTR.errorType, "cancelled");
      if (record.kind === "root") record.span.setAttribute(ATTR.runStatus, "cancelled");
      record.span.end(end);
    }
  }

  override handleToolError(error: unknown, runId: string): void {
    const record = this.#take(runId);
    if (record === undefined) return;
    const status = recordFailure(record.span, error, this.#o);
    if (status === "interrupted" && record.root !== undefined) record.root.interrupted = true;
    record.span.end(nowMs());
  }
}

/**
 * Creates the tracing callback handler for graph `graphName`. `instrument(graph, { tracing })` calls this; use it
 * directly to trace a graph you bind callbacks to yourself (`graph.withConfig({ callbacks: [handler] })`).
 * Throws a TypeError naming the option when `options` is invalid.
 */
export function createTracingHandler(graphName: string, options: TracingOptions | true): BaseCallbackHandler {
  if (typeof graphName !== "string" || graphName === "") throw new TypeError("graphName must be a non-empty string");
  const resolved = resolveTracingOptions(options);
  installTracingBridge();
  return new TracingHandler(graphName, resolved);
}
