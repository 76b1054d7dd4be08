/**
 * The resilience wrappers publish what they do on `node:diagnostics_channel` channels. Metrics, tracing and logging
 * subscribe to them, and so can an application. Publishing costs nothing while a channel has no subscriber.
 */
import { channel } from "node:diagnostics_channel";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { ErrorReason } from "./reasons.js";

/**
 * Metadata key that names the graph of a run for the wrappers' `graph` label. `instrument()` does not set it (it
 * binds the name through its callback handler, see {@link GRAPH_NAME_HANDLER_KEY}); an application that calls
 * wrapped nodes without `instrument()` can set it in the run's metadata, and it wins when present.
 */
export const GRAPH_NAME_METADATA_KEY = "langgraph_ops_graph";

/**
 * @internal Key under which `instrument()`'s callback handler carries the graph name. LangChain copies a run's
 * metadata into every child callback manager key by key, so a metadata entry costs something on every node run;
 * the handler is already in each node's `config.callbacks`.
 */
export const GRAPH_NAME_HANDLER_KEY = Symbol.for("langgraph-ops.graph-name");

/** @internal The handlers of a run config's `callbacks`: a handler list, or a callback manager's handlers. */
export function handlersOf(callbacks: unknown): readonly unknown[] | undefined {
  if (Array.isArray(callbacks)) return callbacks;
  const handlers = (callbacks as { handlers?: unknown } | null | undefined)?.handlers;
  return Array.isArray(handlers) ? handlers : undefined;
}

/** @internal The value the first handler in `callbacks` carries under `key` (undefined when none does). */
export function handlerMark(callbacks: unknown, key: symbol): unknown {
  const handlers = handlersOf(callbacks);
  if (handlers === undefined) return undefined;
  for (const handler of handlers) {
    const value = (handler as Record<symbol, unknown> | null)?.[key];
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * Metadata key naming the tool a call belongs to, set by the agent middleware on the config it hands to the
 * policies of a tool call: events then carry `tool` next to `graph` and `node`.
 */
export const TOOL_NAME_METADATA_KEY = "langgraph_ops_tool";

/** Label value used when a run config does not name the graph or node. */
export const UNKNOWN_LABEL = "unknown";

/** The documented channel names. */
export const CHANNELS = {
  /** A failed attempt that will be retried after `delayMs`. {@link RetryEvent} */
  retry: "langgraph-ops:retry",
  /** `withRetry` gave up with retries left or spent. {@link RetriesExhaustedEvent} */
  retriesExhausted: "langgraph-ops:retry.exhausted",
  /** An attempt passed its deadline. {@link TimeoutEvent} */
  timeout: "langgraph-ops:timeout",
  /** A fallback replaced a failed node's update. {@link FallbackEvent} */
  fallback: "langgraph-ops:fallback",
  /** A bulkhead rejected a call. {@link BulkheadRejectedEvent} */
  bulkheadRejected: "langgraph-ops:bulkhead.rejected",
  /** A circuit breaker was created. {@link BreakerCreatedEvent} */
  breakerCreated: "langgraph-ops:circuit.created",
  /** A circuit breaker changed state. {@link BreakerStateChangeEvent} */
  breakerStateChange: "langgraph-ops:circuit.state",
  /** An open breaker rejected a call. {@link BreakerRejectedEvent} */
  breakerRejected: "langgraph-ops:circuit.rejected",
  /** An idempotency lookup: hit, miss or conflict. {@link IdempotencyEvent} */
  idempotency: "langgraph-ops:idempotency",
  /** A trace exporter wrapped by `reportExports` finished an export. {@link TraceExportEvent} */
  traceExport: "langgraph-ops:trace.export",
  /** A run of a `guardThreads` graph took, waited for, was refused or interrupted a thread. {@link ThreadLockEvent} */
  threadLock: "langgraph-ops:thread.lock",
  /** A rate limiter granted a call, at once or after a wait. {@link RateLimitWaitEvent} */
  rateLimitWait: "langgraph-ops:ratelimit.wait",
  /** A rate limiter refused a call (no capacity within its wait budget). {@link RateLimitRejectedEvent} */
  rateLimitRejected: "langgraph-ops:ratelimit.rejected",
  /** A rate limiter was created. {@link RateLimiterCreatedEvent} */
  rateLimiterCreated: "langgraph-ops:ratelimit.created",
  /** A shared store (Redis) failed an operation and its policy fell back to local state. {@link StoreErrorEvent} */
  storeError: "langgraph-ops:store.error",
} as const;

/** Where an event happened: the graph and node labels plus the node's run config. */
export interface NodeEventBase {
  /** Graph name bound by `instrument()`, or "unknown". */
  graph: string;
  /** LangGraph node name (`metadata.langgraph_node`), or "unknown". */
  node: string;
  /** The tool, for events of a tool call made through the agent middleware (not a metric label). */
  tool?: string;
  /** The config the node was called with (undefined when called outside LangGraph without one). */
  config: RunnableConfig | undefined;
}

/** Published before each retry's backoff sleep. */
export interface RetryEvent extends NodeEventBase {
  /** The attempt that failed (1 = first). */
  attempt: number;
  /** How long the wrapper waits before the next attempt. */
  delayMs: number;
  /** Whether `delayMs` came from the server (`Retry-After` and friends) rather than the backoff schedule. */
  serverDelay: boolean;
  /** Low-cardinality reason from `classifyError`. */
  reason: ErrorReason;
  /** The error of the failed attempt. */
  error: Error;
}

/** Published when `withRetry` stops because no attempts or time budget are left. */
export interface RetriesExhaustedEvent extends NodeEventBase {
  attempts: number;
  error: Error;
}

/** Published when an attempt passes its deadline. */
export interface TimeoutEvent extends NodeEventBase {
  timeoutMs: number;
}

/** Published when a fallback supplies the update instead of the node. */
export interface FallbackEvent extends NodeEventBase {
  error: Error;
}

/** Published when a bulkhead rejects a call. */
export interface BulkheadRejectedEvent extends NodeEventBase {
  limit: number;
  queue: number;
}

/** Circuit breaker states, as used in metric labels. */
export type BreakerState = "closed" | "open" | "half_open";

/** Published once per breaker, at creation. */
export interface BreakerCreatedEvent {
  breaker: string;
  state: BreakerState;
}

/** Published on every breaker transition. */
export interface BreakerStateChangeEvent {
  breaker: string;
  from: BreakerState;
  to: BreakerState;
}

/** Published when an open breaker rejects a call. */
export interface BreakerRejectedEvent extends NodeEventBase {
  breaker: string;
  retryAfterMs: number;
}

/** Published on each idempotency lookup by `withIdempotency` and `runOnce`. */
export interface IdempotencyEvent extends NodeEventBase {
  result: "hit" | "miss" | "conflict";
  /** The idempotency key (high cardinality: never a metric label). */
  key: string;
  /** "node" for `withIdempotency`, the `runOnce` name otherwise. */
  operation: string;
}

/** Published when a trace exporter wrapped by `reportExports` (every exporter `startTelemetry` creates) finishes an export. */
export interface TraceExportEvent {
  /** The exporter's name ("otlp", "langfuse", or the name given to `reportExports`). */
  exporter: string;
  /** Whether the destination accepted the batch (after the exporter's own retries). */
  result: "success" | "failure";
  /** Spans in the batch. */
  spans: number;
  /** The exporter's error, on failure. */
  error: Error | undefined;
}

/** How `guardThreads` treats a second run on a busy thread (the `strategy` label of the thread-lock series). */
export const THREAD_STRATEGIES = ["reject", "enqueue", "interrupt"] as const;
/** A `guardThreads` strategy. */
export type ThreadStrategy = (typeof THREAD_STRATEGIES)[number];

/** What happened to a run's claim on its thread (the `outcome` label of `langgraph_thread_lock_total`). */
export const THREAD_LOCK_OUTCOMES = ["acquired", "rejected", "waited", "interrupted", "taken_over"] as const;
/** A value of {@link THREAD_LOCK_OUTCOMES}. */
export type ThreadLockOutcome = (typeof THREAD_LOCK_OUTCOMES)[number];

/** Published by `guardThreads` for each step of a run's claim on its thread. */
export interface ThreadLockEvent {
  /** Graph name bound by `instrument()`, else the graph's own name. */
  graph: string;
  /** The guard's strategy: reject, enqueue or interrupt. */
  strategy: string;
  /**
   * `acquired`: took a free thread at once; `waited`: took it after waiting (`waitedMs`); `taken_over`: took a
   * thread whose holder's lease had expired; `rejected`: refused (busy, or waited past `waitMs`); `interrupted`:
   * asked the current holder to stop.
   */
  outcome: ThreadLockOutcome;
  /** The thread id (high cardinality: never a metric label). */
  threadId: string;
  /** How long the run waited for the thread, in ms (0 when it did not). */
  waitedMs: number;
  /** How long the current holder had held the thread, for `rejected` and `interrupted`. */
  busyForMs?: number;
}

/**
 * Published when an operation of a shared store (a Redis rate-limit, breaker or semaphore store) fails or passes its
 * deadline. The policy that called it carries on with its local state; the run does not fail.
 */
export interface StoreErrorEvent {
  /** The store class, e.g. `RedisBreakerStore` (the `store` label). */
  store: string;
  /** The operation that failed, one of the store's fixed set, e.g. `acquire` (the `operation` label). */
  operation: string;
  /** What the driver threw. */
  error: Error;
}

/** Published when a rate limiter grants a call (every grant, `waitedMs` 0 when it went at once). */
export interface RateLimitWaitEvent {
  /** The limiter's name (the `limiter` label). */
  limiter: string;
  /** How long the call waited for capacity, in ms. */
  waitedMs: number;
  /** Tokens reserved for the call (its estimate). */
  tokens: number;
  /** Whether the decision came from the limiter's local fallback (its shared store was unreachable). */
  local: boolean;
}

/** Published when a rate limiter refuses a call with `RateLimitedError`. */
export interface RateLimitRejectedEvent {
  limiter: string;
  /** Milliseconds until the call would have conformed. */
  retryAfterMs: number;
  local: boolean;
}

/** Published once per rate limiter, at creation, so its series exist before its first call. */
export interface RateLimiterCreatedEvent {
  limiter: string;
}

/** Maps each channel name to its payload type, for typed subscribers. */
export interface ChannelPayloads {
  [CHANNELS.retry]: RetryEvent;
  [CHANNELS.retriesExhausted]: RetriesExhaustedEvent;
  [CHANNELS.timeout]: TimeoutEvent;
  [CHANNELS.fallback]: FallbackEvent;
  [CHANNELS.bulkheadRejected]: BulkheadRejectedEvent;
  [CHANNELS.breakerCreated]: BreakerCreatedEvent;
  [CHANNELS.breakerStateChange]: BreakerStateChangeEvent;
  [CHANNELS.breakerRejected]: BreakerRejectedEvent;
  [CHANNELS.idempotency]: IdempotencyEvent;
  [CHANNELS.traceExport]: TraceExportEvent;
  [CHANNELS.threadLock]: ThreadLockEvent;
  [CHANNELS.storeError]: StoreErrorEvent;
  [CHANNELS.rateLimitWait]: RateLimitWaitEvent;
  [CHANNELS.rateLimitRejected]: RateLimitRejectedEvent;
  [CHANNELS.rateLimiterCreated]: RateLimiterCreatedEvent;
}

/** A documented channel name. */
export type ChannelName = keyof ChannelPayloads;

const channels = new Map<string, ReturnType<typeof channel>>();
function channelFor(name: ChannelName): ReturnType<typeof channel> {
  let ch = channels.get(name);
  if (ch === undefined) {
    ch = channel(name);
    channels.set(name, ch);
  }
  return ch;
}

/** @internal Whether anyone listens on `name`; lets callers skip building a payload. */
export function hasSubscribers(name: ChannelName): boolean {
  return channelFor(name).hasSubscribers;
}

/** @internal Publishes `payload` on `name`. */
export function publish<N extends ChannelName>(name: N, payload: ChannelPayloads[N]): void {
  const ch = channelFor(name);
  if (ch.hasSubscribers) ch.publish(payload);
}

/**
 * Subscribes `listener` to channel `name` and returns a function that unsubscribes it. An exception thrown by
 * `listener` is swallowed: `node:diagnostics_channel` would otherwise rethrow it as an uncaught exception.
 * @example
 * const stop = subscribe(CHANNELS.retry, (e) => console.log(e.node, e.attempt, e.delayMs));
 */
export function subscribe<N extends ChannelName>(name: N, listener: (payload: ChannelPayloads[N]) => void): () => void {
  const ch = channelFor(name);
  const handler = (message: unknown) => {
    try {
      listener(message as ChannelPayloads[N]);
    } catch {
      // An observer must never take the process down.
    }
  };
  ch.subscribe(handler);
  return () => {
    ch.unsubscribe(handler);
  };
}

/**
 * The `graph` and `node` labels for a node's run config: the graph named in its metadata
 * ({@link GRAPH_NAME_METADATA_KEY}), else the outermost instrumented graph the run belongs to, else "unknown";
 * plus `tool` when the config belongs to a tool call ({@link TOOL_NAME_METADATA_KEY}).
 */
export function labelsOf(config: RunnableConfig | undefined): { graph: string; node: string; tool?: string } {
  const metadata = config?.metadata as Record<string, unknown> | undefined;
  const named = metadata?.[GRAPH_NAME_METADATA_KEY];
  const graph = typeof named === "string" ? named : handlerMark(config?.callbacks, GRAPH_NAME_HANDLER_KEY);
  const node = metadata?.langgraph_node;
  const labels = {
    graph: typeof graph === "string" ? graph : UNKNOWN_LABEL,
    node: typeof node === "string" ? node : UNKNOWN_LABEL,
  };
  const tool = metadata?.[TOOL_NAME_METADATA_KEY];
  return typeof tool === "string" ? { ...labels, tool } : labels;
}
