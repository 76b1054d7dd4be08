/**
 * LangChain callback handler that turns a LangGraph run into OpenTelemetry spans: graph root → node (per attempt) →
 * `chat {model}` / `execute_tool {tool}`, parented by LangChain run ids. Only `@opentelemetry/api` is used here; the
 * SDK (or no SDK at all, which makes every call a no-op) is the application's choice.
 */
import type { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import { type Attributes, type Context, context, type Span, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { SinkCallbackHandler } from "../runs/callback-source.js";
import { errorType } from "../runs/facts.js";
import type { RunEnd, RunSink, TrackedRun } from "../runs/types.js";
import {
  ATTR,
  llmAttributes,
  llmCostAttributes,
  llmEndAttributes,
  nodeAttributes,
  rootAttributes,
  runUsageAttributes,
  toolAttributes,
} from "./attributes.js";
import { installTracingBridge } from "./bridge.js";
import { maskAndCap, toContentString, toGenAIMessage } from "./content.js";
import { recordError } from "./error-span.js";
import { type ResolvedTracingOptions, resolveTracingOptions, type TracingOptions } from "./options.js";
import { deleteRun, getRun, hasRun, type RunKind, type RunRecord, setRun, spanContextOf } from "./registry.js";
import { rememberInterrupted, takeResumeLink } from "./resume-links.js";

export type { MaskFn, TracingOptions } from "./options.js";

type Metadata = Record<string, unknown>;

/** The tracer's clock: sub-millisecond wall time, the scale the OpenTelemetry SDK uses for its own timestamps. */
const ORIGIN = performance.timeOrigin;
const wall = (perfMs: number): number => ORIGIN + perfMs;

/** Marks `span` for a failed, interrupted or cancelled run. */
function recordEnd(span: Span, end: RunEnd, o: ResolvedTracingOptions): void {
  if (end.control === "interrupt") {
    span.addEvent("langgraph.interrupt");
    return;
  }
  if (end.control === "bubble_up") {
    // Control flow, not a failure: parent commands leave the status unset.
    span.addEvent("langgraph.bubble_up", { "langgraph.bubble_up.type": errorType(end.error) });
    return;
  }
  if (end.status === "cancelled") {
    span.addEvent("langgraph.cancelled");
    span.setAttribute(ATTR.errorType, "cancelled");
    return;
  }
  if (end.status === "abandoned") {
    span.setAttribute(ATTR.errorType, "abandoned");
    span.setStatus({ code: SpanStatusCode.ERROR, message: "abandoned" });
    return;
  }
  if (end.status === "error") recordError(span, end.error, o);
}

/** The tracing sink: one span per graph run, node attempt, LLM call and tool call, kept in the run's slot. */
class TracingSink implements RunSink {
  readonly name = "langgraph-ops-tracing";
  readonly abandonAfterMs: number;
  #slot = 0;
  readonly #graph: string;
  readonly #o: ResolvedTracingOptions;
  readonly #rootBaseAttributes: { userId: ResolvedTracingOptions["userId"]; tags: string[] | undefined; agent: boolean };

  constructor(graph: string, options: ResolvedTracingOptions) {
    this.#graph = graph;
    this.#o = options;
    this.abandonAfterMs = options.abandonAfterMs;
    this.#rootBaseAttributes = { userId: options.userId, tags: options.tags, agent: options.kind === "agent" };
  }

  attach(slot: number): void {
    this.#slot = slot;
  }

  #content(span: Span, attribute: string, value: unknown): void {
    const o = this.#o;
    span.setAttribute(attribute, maskAndCap(toContentString(value), attribute, o.mask, o.maxContentLength));
  }

  /** The span record of the run's nearest traced ancestor: ours, or (nested instrumented graphs) another tracer's. */
  #parentRecord(run: TrackedRun): RunRecord | undefined {
    for (let p = run.parent; p !== undefined; p = p.parent) {
      const record = p.slots[this.#slot] as RunRecord | undefined;
      if (record !== undefined) return record;
    }
    return getRun(run.parentRunId);
  }

  #open(run: TrackedRun, kind: RunKind, span: Span, base: Context, parent: RunRecord | undefined, start: number): RunRecord {
    const thread = run.metadata?.thread_id;
    const record: RunRecord = {
      runId: run.id,
      span,
      kind,
      owner: this,
      base,
      active: undefined,
      root: undefined,
      graph: parent?.graph ?? this.#graph,
      node: kind === "node" ? run.name : undefined,
      startMs: start,
      abandonAfterMs: this.#o.abandonAfterMs,
      calls: 0,
      firstChunkMs: 0,
      interrupted: false,
      thread: kind === "root" && typeof thread === "string" ? thread : undefined,
    };
    (record as { root: RunRecord | undefined }).root = kind === "root" ? record : parent?.root;
    run.slots[this.#slot] = record;
    setRun(run.id, record);
    return record;
  }

  passThrough(runId: string, ancestor: TrackedRun | undefined): void {
    if (ancestor === undefined) {
      const record = getRun(runId);
      if (record !== undefined && record.runId !== runId && record.owner === this) deleteRun(runId);
      return;
    }
    // Registered so wrapper events and the context bridge find the node's span from a child run's config, and a graph
    // instrumented again inside this one's nodes joins this trace instead of starting its own.
    if (hasRun(runId)) return;
    for (let p: TrackedRun | undefined = ancestor; p !== undefined; p = p.parent) {
      const record = p.slots[this.#slot] as RunRecord | undefined;
      if (record !== undefined) {
        setRun(runId, record);
        return;
      }
    }
  }

  start(run: TrackedRun, input: unknown): void {
    // Another tracer (an outer instrumented graph) already represents this run.
    if (hasRun(run.id)) return;
    const start = wall(run.startMs);
    const o = this.#o;
    switch (run.kind) {
      case "root": {
        this.#startRoot(run, input, start);
        return;
      }
      case "node": {
        const parent = this.#parentRecord(run);
        if (parent === undefined) return;
        const attrs = nodeAttributes(parent.graph, run.name, run.metadata);
        const span = o.tracer.startSpan(run.name, { kind: SpanKind.INTERNAL, attributes: attrs, startTime: start }, spanContextOf(parent));
        if (o.captureContent) this.#content(span, ATTR.lfInput, input);
        this.#open(run, "node", span, parent.base, parent, start);
        return;
      }
      case "llm": {
        const parent = this.#parentRecord(run);
        const base = parent?.base ?? context.active();
        const llm = run.llm as NonNullable<TrackedRun["llm"]>;
        const chat = llm.operation === "chat";
        const attrs: Attributes = llmAttributes(parent?.graph ?? this.#graph, run.metadata, llm.invocation, llm.model, llm.provider, chat);
        if (parent !== undefined && parent.kind === "node" && parent.calls > 0) attrs[ATTR.attempt] = parent.calls;
        const span = o.tracer.startSpan(
          `${llm.operation} ${llm.model}`,
          { kind: SpanKind.CLIENT, attributes: attrs, startTime: start },
          parent === undefined ? base : spanContextOf(parent),
        );
        this.#open(run, "llm", span, base, parent, start);
        if (o.captureContent) {
          const content = chat
            ? ((input as BaseMessage[][])[0] ?? []).map(toGenAIMessage)
            : (input as string[]).map((p) => ({ role: "user", parts: [{ type: "text", content: p }] }));
          this.#content(span, ATTR.inputMessages, content);
        }
        return;
      }
      case "tool": {
        const parent = this.#parentRecord(run);
        const base = parent?.base ?? context.active();
        const attrs = toolAttributes(parent?.graph ?? this.#graph, run.metadata, run.name, run.callId);
        if (parent !== undefined && parent.kind === "node" && parent.calls > 0) attrs[ATTR.attempt] = parent.calls;
        const span = o.tracer.startSpan(
          `execute_tool ${run.name}`,
          { kind: SpanKind.INTERNAL, attributes: attrs, startTime: start },
          parent === undefined ? base : spanContextOf(parent),
        );
        if (o.captureContent) this.#content(span, ATTR.toolArguments, input);
        this.#open(run, "tool", span, base, parent, start);
      }
    }
  }

  #startRoot(run: TrackedRun, inputs: unknown, start: number): void {
    const metadata = run.metadata as Metadata | undefined;
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
    this.#open(run, "root", span, base, undefined, start);
  }

  end(run: TrackedRun, end: RunEnd): void {
    const record = run.slots[this.#slot] as RunRecord | undefined;
    if (record === undefined) return;
    // The registry's own sweep may have ended the span already.
    if (getRun(run.id) !== record) return;
    deleteRun(run.id);
    const span = record.span;
    const status = end.status;
    if (end.error === undefined && (status === "success" || status === "interrupted")) {
      if (status === "interrupted") {
        span.addEvent("langgraph.interrupt");
        const thread = record.thread;
        if (thread !== undefined) rememberInterrupted(thread, span.spanContext());
      }
      if (run.kind === "llm") this.#endLlm(run, record, end);
      else if (this.#o.captureContent) {
        if (run.kind === "tool") {
          const content = (end.output as { content?: unknown } | null)?.content;
          this.#content(span, ATTR.toolResult, content !== undefined ? content : end.output);
        } else this.#content(span, ATTR.lfOutput, end.output);
      }
    } else recordEnd(span, end, this.#o);
    if (run.kind === "root" && status !== "abandoned") {
      span.setAttribute(ATTR.runStatus, status);
      if (run.usage !== undefined) span.setAttributes(runUsageAttributes(run.usage));
    }
    span.end(status === "abandoned" ? undefined : wall(end.endMs));
  }

  #endLlm(run: TrackedRun, record: RunRecord, end: RunEnd): void {
    const span = record.span;
    const output = end.output as LLMResult | undefined;
    span.setAttributes(llmEndAttributes(output?.generations as Parameters<typeof llmEndAttributes>[0], output?.llmOutput, end.usage));
    if (end.cost !== undefined) span.setAttributes(llmCostAttributes(end.cost));
    if (run.firstChunkMs > 0) {
      span.setAttribute(ATTR.requestStream, true);
      span.setAttribute(ATTR.timeToFirstChunk, (run.firstChunkMs - run.startMs) / 1000);
      span.setAttribute(ATTR.lfCompletionStart, new Date(wall(run.firstChunkMs)).toISOString());
    }
    if (this.#o.captureContent) {
      const generations = output?.generations?.[0] ?? [];
      const messages = generations.map((g) => {
        const message = (g as { message?: BaseMessage }).message;
        return message !== undefined ? toGenAIMessage(message) : { role: "assistant", parts: [{ type: "text", content: g.text }] };
      });
      this.#content(span, ATTR.outputMessages, messages);
    }
  }
}

/** The callback handler behind `instrument(graph, { tracing })`. */
class TracingHandler extends SinkCallbackHandler {
  override name = "langgraph-ops-tracing";
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
  return new TracingHandler(new TracingSink(graphName, resolved), resolved.abandonAfterMs);
}
