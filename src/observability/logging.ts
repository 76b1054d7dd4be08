/**
 * Structured logs correlated with traces: a pino JSON logger that stamps `trace_id`/`span_id` on every line written
 * inside a traced run, and the callback handler behind `instrument(graph, { logger })` that logs runs, nodes, tools
 * and the resilience wrappers' events. No state, inputs, outputs or messages are ever logged by the kit; errors are
 * logged by type, status, code and reason, their message only with `errorMessages: true` (masked and capped).
 */
import type { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { RunnableConfig } from "@langchain/core/runnables";
import { isSpanContextValid, trace } from "@opentelemetry/api";
import { type Logger, type LoggerOptions, pino } from "pino";
import { checkOptions } from "../core/options.js";
import { runUsageFields } from "./cost.js";
import { type ErrorTextPolicy, errorFacts, maskedMessage } from "./error-export.js";
import { CHANNELS, TOOL_NAME_METADATA_KEY, subscribe } from "../core/events.js";
import { CREATE_LOGGER_OPTIONS, type CreateLoggerOptions, resolveDestination } from "./logger-options.js";
import { SinkCallbackHandler } from "./runs/callback-source.js";
import type { RunEnd, RunSink, RunTracking, TrackedRun } from "./runs/types.js";
import { DEFAULT_MAX_CONTENT_LENGTH, defaultMask, withDefaultMask } from "./tracing/content.js";
import { getRun, type RunRecord, runOfConfig } from "./tracing/registry.js";

/** Redaction paths applied by default: credentials wherever they appear one or two levels deep, and run payloads. */
export const DEFAULT_REDACT_PATHS: readonly string[] = [
  "password",
  "*.password",
  "apiKey",
  "*.apiKey",
  "api_key",
  "*.api_key",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "headers.cookie",
  "*.headers.cookie",
  "state",
  "*.state",
  "messages",
  "*.messages",
];

export type { CreateLoggerOptions } from "./logger-options.js";

// In the global symbol registry so the ESM and CommonJS copies of this module agree; pino's child loggers inherit it
// through their prototype.
const ERROR_TEXT = Symbol.for("langgraph-ops.log-error-text");

const NO_ERROR_TEXT: ErrorTextPolicy = { errorMessages: false, mask: defaultMask, max: DEFAULT_MAX_CONTENT_LENGTH };

function errorTextOf(logger: Logger): ErrorTextPolicy {
  return (logger as unknown as Record<symbol, ErrorTextPolicy | undefined>)[ERROR_TEXT] ?? NO_ERROR_TEXT;
}

/** @internal Error fields of a kit log line: type, reason, status and code; the message only when the logger opted in. */
export function errorLogFields(error: unknown, policy: ErrorTextPolicy): Record<string, unknown> {
  const facts = errorFacts(error);
  const fields: Record<string, unknown> = { error_type: facts.type, error_reason: facts.reason };
  if (facts.status !== undefined) fields.error_status = facts.status;
  if (facts.code !== undefined) fields.error_code = facts.code;
  if (policy.errorMessages) fields.error_message = maskedMessage(error, "error_message", policy.mask, policy.max);
  return fields;
}

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** Adds the active span's ids: lines written inside a traced node (wrapped by the kit) join its trace. */
function traceMixin(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: sc.traceFlags === 1 ? "01" : "00" };
}

/**
 * Creates a pino JSON logger whose lines carry `trace_id`, `span_id` and `trace_flags` whenever an OpenTelemetry span
 * is active, with credential and payload redaction. Throws a TypeError naming a bad option.
 * @example
 * const logger = createLogger({ name: "support-agent", redact: ["customer.email"] });
 * const graph = instrument(compiled, { tracing: true, logger });
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  checkOptions(options, CREATE_LOGGER_OPTIONS, "createLogger(options)");
  const destination = resolveDestination(options.destination, "createLogger(options)");
  const level = options.level ?? process.env.LOG_LEVEL ?? "info";
  if (!LEVELS.has(level)) throw new TypeError(`createLogger(options).level must be one of ${[...LEVELS].join(", ")}, got ${String(level)}`);
  const paths = [...(options.replaceDefaultRedact === true ? [] : DEFAULT_REDACT_PATHS), ...(options.redact ?? [])];
  const config: LoggerOptions = {
    level,
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.base !== undefined ? { base: options.base } : {}),
    redact: { paths, censor: "[REDACTED]" },
    mixin: traceMixin,
    ...options.pino,
  };
  const logger =
    destination === undefined
      ? pino(config)
      : pino(config, typeof destination === "number" ? pino.destination({ fd: destination }) : destination);
  const policy: ErrorTextPolicy = {
    errorMessages: options.errorMessages ?? false,
    mask: withDefaultMask(options.mask),
    max: DEFAULT_MAX_CONTENT_LENGTH,
  };
  Object.defineProperty(logger, ERROR_TEXT, { value: policy, enumerable: false });
  return logger;
}

/** What the logging sink keeps in a run's slot: the run's span record when tracing is on (its ids are read only when a line is written). */
interface LogSlot {
  readonly traced: RunRecord | undefined;
}

/** The span record of `runId` itself (not an ancestor's it passes through to). */
function tracedRun(runId: string): RunRecord | undefined {
  const record = getRun(runId);
  return record !== undefined && record.runId === runId ? record : undefined;
}

/** The message subject of a run's lines. */
const SUBJECT = { root: "graph run", node: "node", tool: "tool" } as const;

/** The logging sink: graph runs, nodes and tools. No state, inputs, outputs or messages. */
class LoggingSink implements RunSink {
  readonly name = "langgraph-ops-logging";
  tracker: RunTracking | undefined;
  #slot = 0;
  readonly #logger: Logger;
  readonly #graph: string;
  readonly #errorText: ErrorTextPolicy;

  constructor(logger: Logger, graph: string) {
    this.#logger = logger;
    this.#graph = graph;
    this.#errorText = errorTextOf(logger);
  }

  attach(slot: number, tracker: RunTracking): void {
    this.#slot = slot;
    this.tracker = tracker;
  }

  /** A log line's correlation and location fields; a root's final line also carries its LLM tokens and cost. */
  #fields(run: TrackedRun, slot: LogSlot): Record<string, unknown> {
    const fields: Record<string, unknown> = { graph: this.#graph };
    if (run.usage !== undefined) Object.assign(fields, runUsageFields(run.usage));
    if (run.kind === "node") fields.node = run.name;
    else if (run.kind === "tool") fields.tool = run.name;
    const sc = slot.traced?.span.spanContext();
    if (sc !== undefined && isSpanContextValid(sc)) {
      fields.trace_id = sc.traceId;
      fields.span_id = sc.spanId;
    }
    return fields;
  }

  start(run: TrackedRun): void {
    if (run.kind === "llm") return;
    const slot: LogSlot = { traced: tracedRun(run.id) };
    run.slots[this.#slot] = slot;
    if (!this.#logger.isLevelEnabled("debug")) return;
    const fields = this.#fields(run, slot);
    if (run.kind === "root") {
      const thread = run.metadata?.thread_id;
      if (typeof thread === "string") fields.thread_id = thread;
      this.#logger.debug(fields, "graph run started");
    } else if (run.kind === "node") {
      const step = run.metadata?.langgraph_step;
      if (typeof step === "number") fields.step = step;
      this.#logger.debug(fields, "node started");
    } else this.#logger.debug(fields, "tool started");
  }

  end(run: TrackedRun, end: RunEnd): void {
    const slot = run.slots[this.#slot] as LogSlot | undefined;
    if (slot === undefined || run.kind === "llm") return;
    const logger = this.#logger;
    const what = SUBJECT[run.kind];
    const status = end.status;
    // An abandoned stream is one line for its graph run; the swept records of a run that never ended, none.
    if ((status === "cancelled" && end.error === undefined && run.kind !== "root") || status === "abandoned") return;
    if (status === "success") {
      // One info line per successful run; per-node and per-tool success lines are debug, so production logs at info
      // hold runs, interrupts, warnings and errors only.
      const level = run.kind === "root" ? "info" : "debug";
      if (!logger.isLevelEnabled(level)) return;
      const fields = this.#fields(run, slot);
      fields.duration_ms = Math.round((end.endMs - run.startMs) * 1000) / 1000;
      fields.status = "success";
      logger[level](fields, run.kind === "root" ? "graph run finished" : `${what} finished`);
      return;
    }
    const fields = this.#fields(run, slot);
    if (end.error !== undefined || run.kind !== "root") fields.duration_ms = Math.round((end.endMs - run.startMs) * 1000) / 1000;
    fields.status = status;
    if (status === "interrupted") {
      if (logger.isLevelEnabled("info")) logger.info(fields, `${what} interrupted`);
      return;
    }
    if (status === "cancelled") {
      if (logger.isLevelEnabled("warn")) logger.warn(fields, `${what} cancelled`);
      return;
    }
    // Never the stack, headers or bodies; the message only when the logger opted in.
    Object.assign(fields, errorLogFields(end.error, this.#errorText));
    if (run.kind === "tool") logger.warn(fields, `${what} failed`);
    else logger.error(fields, `${what} failed`);
  }
}

/** The callback handler behind `instrument(graph, { logger })`. */
class LoggingHandler extends SinkCallbackHandler {
  override name = "langgraph-ops-logging";
  readonly #sink: LoggingSink;

  constructor(sink: LoggingSink) {
    super(sink);
    this.#sink = sink;
  }

  /** @internal Open entries (pass-through ids included); 0 when no run is in progress. */
  get openRuns(): number {
    return (this.#sink.tracker ?? (this.input as unknown as RunTracking)).size;
  }
}

type EventConfig = RunnableConfig | undefined;

/** Correlation fields for a wrapper event: the node span's ids when tracing is on. */
function eventFields(graph: string, node: string, config: EventConfig): Record<string, unknown> {
  const fields: Record<string, unknown> = { graph, node };
  const tool = config?.metadata?.[TOOL_NAME_METADATA_KEY];
  if (typeof tool === "string") fields.tool = tool;
  const found = runOfConfig(config);
  const sc = found?.record.span.spanContext();
  if (sc !== undefined && isSpanContextValid(sc)) {
    fields.trace_id = sc.traceId;
    fields.span_id = sc.spanId;
  }
  return fields;
}

/** Subscribes `logger` to the wrapper events of graph `graph`; returns what undoes it. */
function logWrapperEvents(logger: Logger, graph: string): () => void {
  const mine = (g: string) => g === graph;
  const text = errorTextOf(logger);
  const subscriptions = [
    subscribe(CHANNELS.retry, (e) => {
      if (!mine(e.graph) || !logger.isLevelEnabled("warn")) return;
      logger.warn(
        {
          ...eventFields(e.graph, e.node, e.config),
          attempt: e.attempt,
          delay_ms: e.delayMs,
          reason: e.reason,
          ...errorLogFields(e.error, text),
        },
        "node attempt failed, retrying",
      );
    }),
    subscribe(CHANNELS.retriesExhausted, (e) => {
      if (!mine(e.graph) || !logger.isLevelEnabled("error")) return;
      logger.error(
        { ...eventFields(e.graph, e.node, e.config), attempts: e.attempts, ...errorLogFields(e.error, text) },
        "node retries exhausted",
      );
    }),
    subscribe(CHANNELS.timeout, (e) => {
      if (!mine(e.graph) || !logger.isLevelEnabled("warn")) return;
      logger.warn({ ...eventFields(e.graph, e.node, e.config), timeout_ms: e.timeoutMs }, "node attempt timed out");
    }),
    subscribe(CHANNELS.fallback, (e) => {
      if (!mine(e.graph) || !logger.isLevelEnabled("warn")) return;
      logger.warn({ ...eventFields(e.graph, e.node, e.config), ...errorLogFields(e.error, text) }, "node fell back");
    }),
    subscribe(CHANNELS.bulkheadRejected, (e) => {
      if (!mine(e.graph) || !logger.isLevelEnabled("warn")) return;
      logger.warn({ ...eventFields(e.graph, e.node, e.config), limit: e.limit, queue: e.queue }, "bulkhead rejected node call");
    }),
    subscribe(CHANNELS.breakerRejected, (e) => {
      if (!mine(e.graph) || !logger.isLevelEnabled("warn")) return;
      logger.warn(
        { ...eventFields(e.graph, e.node, e.config), breaker: e.breaker, retry_after_ms: e.retryAfterMs },
        "circuit breaker open, call rejected",
      );
    }),
    subscribe(CHANNELS.idempotency, (e) => {
      if (!mine(e.graph)) return;
      const level = e.result === "conflict" ? "warn" : e.result === "hit" ? "info" : "debug";
      if (!logger.isLevelEnabled(level)) return;
      // The key is omitted: it embeds the thread id, which belongs in traces, not in every log line.
      logger[level]({ ...eventFields(e.graph, e.node, e.config), result: e.result, operation: e.operation }, `idempotency ${e.result}`);
    }),
    subscribe(CHANNELS.threadLock, (e) => {
      if (!mine(e.graph)) return;
      const level = e.outcome === "acquired" ? "debug" : e.outcome === "waited" ? "info" : "warn";
      if (!logger.isLevelEnabled(level)) return;
      // The thread id is a conversation id, as in traces (gen_ai.conversation.id); a busy thread is found by it.
      logger[level](
        {
          graph: e.graph,
          thread_id: e.threadId,
          strategy: e.strategy,
          outcome: e.outcome,
          waited_ms: e.waitedMs,
          ...(e.busyForMs === undefined ? {} : { busy_for_ms: e.busyForMs }),
        },
        `thread lock ${e.outcome}`,
      );
    }),
  ];
  return () => {
    for (const unsubscribe of subscriptions) unsubscribe();
  };
}

/** Loggers already subscribed to the process-wide events (breaker transitions, store errors): each once. */
const processEventLoggers = new WeakSet<Logger>();

function logProcessWideEvents(logger: Logger): void {
  if (processEventLoggers.has(logger)) return;
  processEventLoggers.add(logger);
  const text = errorTextOf(logger);
  subscribe(CHANNELS.storeError, (e) => {
    if (!logger.isLevelEnabled("warn")) return;
    logger.warn(
      { store: e.store, operation: e.operation, ...errorLogFields(e.error, text) },
      "shared store unavailable, using local state",
    );
  });
  subscribe(CHANNELS.breakerStateChange, (e) => {
    const level = e.to === "open" ? "warn" : "info";
    if (logger.isLevelEnabled(level)) logger[level]({ breaker: e.breaker, from: e.from, to: e.to }, `circuit breaker ${e.to}`);
  });
}

/**
 * Creates the callback handler that logs graph runs (debug at start, info at end, error on failure), node runs (debug
 * at start and end with `duration_ms`, error on failure, info on interrupt), tools (debug; warn on failure) and the
 * resilience wrappers' events for graph `graphName` (retry, timeout, fallback, breaker and bulkhead rejections: warn;
 * retries exhausted: error; idempotency hits: info). Lines carry `trace_id`/`span_id` of the run's span when tracing
 * is on. `instrument(graph, { logger })` calls this once per graph. The wrapper-event subscription lasts as long as
 * a handler for that logger and graph does; handlers of the same logger and graph share it, so no line is doubled.
 */
export function createLoggingHandler(logger: Logger, graphName: string): BaseCallbackHandler {
  if (logger === null || typeof logger !== "object" || typeof logger.info !== "function" || typeof logger.isLevelEnabled !== "function") {
    throw new TypeError("createLoggingHandler(logger) must be a pino logger");
  }
  if (typeof graphName !== "string" || graphName === "")
    throw new TypeError("createLoggingHandler(logger, graphName): graphName must be a non-empty string");
  logProcessWideEvents(logger);
  const handler = new LoggingHandler(new LoggingSink(logger, graphName));
  holdWrapperEvents(logger, graphName, handler);
  return handler;
}

/** One wrapper-event subscription per (logger, graph), counted by the handlers that hold it. */
interface WrapperSubscription {
  holders: number;
  unsubscribe: () => void;
}
const wrapperSubscriptions = new WeakMap<Logger, Map<string, WrapperSubscription>>();

/**
 * Lets go of a handler's hold once the handler is collected: the last holder unsubscribes. The held value names the
 * logger and graph only, never the handler, or the handler could not be collected.
 */
const releaseWhenCollected = new FinalizationRegistry<{ logger: Logger; graph: string }>(({ logger, graph }) => {
  const byGraph = wrapperSubscriptions.get(logger);
  const held = byGraph?.get(graph);
  if (byGraph === undefined || held === undefined) return;
  held.holders -= 1;
  if (held.holders > 0) return;
  held.unsubscribe();
  byGraph.delete(graph);
});

/**
 * Subscribes `logger` to graph `graph`'s wrapper events while `handler` lives. A graph instrumented twice with the
 * same logger shares one subscription, so each event is logged once.
 */
function holdWrapperEvents(logger: Logger, graph: string, handler: object): void {
  let byGraph = wrapperSubscriptions.get(logger);
  if (byGraph === undefined) {
    byGraph = new Map();
    wrapperSubscriptions.set(logger, byGraph);
  }
  const held = byGraph.get(graph);
  if (held === undefined) byGraph.set(graph, { holders: 1, unsubscribe: logWrapperEvents(logger, graph) });
  else held.holders += 1;
  releaseWhenCollected.register(handler, { logger, graph });
}
