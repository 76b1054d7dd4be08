/**
 * Connects the resilience wrappers to tracing: the node's span becomes the active OpenTelemetry context while the
 * wrapped node runs (so HTTP, database and manual spans started inside nest under it), and the kit's retry attempts
 * and wrapper events become span events on the node span. Attempts get no span of their own: LangChain parents an
 * attempt's LLM and tool spans to the node run, so an attempt span would sit empty beside them; instead each LLM and
 * tool span carries `langgraph.attempt`, and the node span one `langgraph.attempt` event per extra attempt.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { context, type Span, trace } from "@opentelemetry/api";
import { CHANNELS, subscribe } from "../../core/events.js";
import { setNodeContextRunner } from "../../core/node-context.js";
import { errorFacts } from "../error-export.js";
import { ATTR } from "./attributes.js";
import { errorAttributes } from "./error-span.js";
import { getRun, runOfConfig, spanContextOf } from "./registry.js";

function nodeSpanOf(config: RunnableConfig | undefined): Span | undefined {
  const found = runOfConfig(config);
  if (found !== undefined) return found.record.span;
  // Called without the node's config: the node span is active if the event came from inside the node.
  return trace.getActiveSpan();
}

/** Runs `fn` with the span of `config`'s node run active. */
function runInNodeContext<T>(config: RunnableConfig | undefined, fn: () => T): T {
  const found = runOfConfig(config);
  if (found === undefined) return fn();
  const record = found.record;
  // Direct node runs count attempts; a wrapped function used elsewhere (conditional edge, tool) only enters the context.
  if (found.id === record.runId && record.kind === "node") {
    record.calls++;
    if (record.calls > 1) record.span.addEvent("langgraph.attempt", { [ATTR.attempt]: record.calls });
  }
  return context.with(spanContextOf(record), fn);
}

/**
 * Runs `fn` with the span of the node run that `config` belongs to as the active OpenTelemetry context, so spans
 * started inside (HTTP, database, manual) nest under the node. Nodes wrapped by the kit's resilience wrappers get this
 * automatically; call it yourself in a node you do not wrap. Without tracing it just calls `fn`.
 * @example
 * builder.addNode("fetch", (state, config) => withNodeContext(config, () => fetchDocs(state.query)));
 */
export function withNodeContext<T>(config: RunnableConfig | undefined, fn: () => T): T {
  const found = runOfConfig(config);
  if (found === undefined) return fn();
  return context.with(spanContextOf(found.record), fn);
}

/** @internal Runs `fn` with the span of run `runId` (a node run) active; without a span for it, just calls `fn`. */
export function withRunContext<T>(runId: string, fn: () => T): T {
  const record = getRun(runId);
  if (record === undefined || record.runId !== runId) return fn();
  return context.with(spanContextOf(record), fn);
}

let installed = false;

/** @internal Installs the node context runner and the wrapper-event subscriptions once per process. */
export function installTracingBridge(): void {
  if (installed) return;
  installed = true;
  setNodeContextRunner(runInNodeContext);
  subscribe(CHANNELS.retry, (e) => {
    nodeSpanOf(e.config)?.addEvent("langgraph.retry", {
      [ATTR.attempt]: e.attempt,
      "langgraph.retry.delay_ms": e.delayMs,
      "langgraph.retry.server_delay": e.serverDelay,
      "langgraph.retry.reason": e.reason,
      ...errorAttributes(errorFacts(e.error)),
    });
  });
  subscribe(CHANNELS.retriesExhausted, (e) => {
    nodeSpanOf(e.config)?.addEvent("langgraph.retry.exhausted", {
      "langgraph.retry.attempts": e.attempts,
      ...errorAttributes(errorFacts(e.error)),
    });
  });
  subscribe(CHANNELS.timeout, (e) => {
    nodeSpanOf(e.config)?.addEvent("langgraph.timeout", { "langgraph.timeout.ms": e.timeoutMs });
  });
  subscribe(CHANNELS.fallback, (e) => {
    nodeSpanOf(e.config)?.addEvent("langgraph.fallback", errorAttributes(errorFacts(e.error)));
  });
  subscribe(CHANNELS.bulkheadRejected, (e) => {
    nodeSpanOf(e.config)?.addEvent("langgraph.bulkhead.rejected", {
      "langgraph.bulkhead.limit": e.limit,
      "langgraph.bulkhead.queue": e.queue,
    });
  });
  subscribe(CHANNELS.breakerRejected, (e) => {
    nodeSpanOf(e.config)?.addEvent("langgraph.circuit_breaker.rejected", {
      "langgraph.circuit_breaker.name": e.breaker,
      "langgraph.circuit_breaker.retry_after_ms": e.retryAfterMs,
    });
  });
  // A thread is claimed before the graph's root span exists: the event goes on the caller's span (an HTTP request).
  subscribe(CHANNELS.threadLock, (e) => {
    trace.getActiveSpan()?.addEvent("langgraph.thread_lock", {
      "langgraph.thread_lock.outcome": e.outcome,
      "langgraph.thread_lock.strategy": e.strategy,
      "langgraph.thread_lock.waited_ms": e.waitedMs,
      ...(e.busyForMs === undefined ? {} : { "langgraph.thread_lock.busy_for_ms": e.busyForMs }),
    });
  });
  subscribe(CHANNELS.idempotency, (e) => {
    nodeSpanOf(e.config)?.addEvent("langgraph.idempotency", {
      "langgraph.idempotency.result": e.result,
      "langgraph.idempotency.operation": e.operation,
    });
  });
}
