/**
 * The Prometheus series of the kit, on a prom-client registry. Graph, node, tool and LLM series are fed by the
 * callback handler that `instrument()` attaches; wrapper series by the diagnostics channels the resilience wrappers
 * publish on; the breaker state gauge is computed at scrape time from the live breakers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RunnableConfig } from "@langchain/core/runnables";
import { Counter, Gauge, Histogram, Registry, type RegistryContentType, collectDefaultMetrics } from "prom-client";
import { liveCircuitBreakers } from "../resilience/circuit-breaker.js";
import { checkOptions, describe, type OptionSpec, rule } from "../core/options.js";
import { joinCluster } from "../server/cluster-worker.js";
import { writeMetrics } from "../server/http.js";
import { type BreakerState, CHANNELS, handlerMark, type NodeEventBase, subscribe } from "./events.js";
import { LabelGuards, MAX_LABEL_LENGTH, MIN_LABEL_LENGTH } from "./label-guard.js";
import { reportedExporters } from "./tracing/export-reporting.js";

/** Options of {@link createMetrics}. */
export interface CreateMetricsOptions {
  /** Registry to register on. Default: a new `Registry` (OpenMetrics content type when `exemplars` is on). */
  registry?: Registry<RegistryContentType>;
  /** Prefix of the `langgraph_*` series (the `gen_ai_*` series keep their semantic-convention names). Default "langgraph_". */
  prefix?: string;
  /** Also collect prom-client's process and Node.js metrics on the registry. Default false. */
  defaultMetrics?: boolean;
  /** Attach `trace_id`/`span_id` exemplars to histogram observations made under an active OpenTelemetry span. Default false. */
  exemplars?: boolean;
  /** Distinct values per label before further values fold into `__other__`. Default 500. */
  maxLabelValues?: number;
  /**
   * In a `node:cluster` worker: answer the primary's scrapes, so that `serveClusterMetrics()` there serves the sum of
   * all workers. Ignored outside a cluster worker. Default false.
   */
  cluster?: boolean;
  /** Longest label value, in characters; longer values are cut and end in `…[truncated]`. Default 128. */
  maxLabelLength?: number;
}

/** A set of langgraph-ops series on one registry. */
export interface Metrics {
  /** The prom-client registry holding the series. */
  readonly registry: Registry<RegistryContentType>;
  /** The prefix of the `langgraph_*` series. */
  readonly prefix: string;
  /** Content type of {@link Metrics.text}: Prometheus text 0.0.4, or OpenMetrics 1.0.0 with exemplars. */
  readonly contentType: string;
  /** Renders the registry in the exposition format of {@link Metrics.contentType}. */
  text(): Promise<string>;
  /**
   * `(req, res) => void` serving the exposition (GET and HEAD), for node:http and express routes; with fastify,
   * pass `request.raw, reply.raw` after `reply.hijack()`.
   */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Stops listening to the resilience wrappers' channels. The registry keeps its values. */
  close(): void;
}

/** Bucket boundaries (seconds) of the graph, node and tool duration histograms. */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Bucket boundaries (seconds) of `langgraph_checkpoint_operation_duration_seconds`. */
export const CHECKPOINT_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Bucket boundaries (bytes) of `langgraph_checkpoint_size_bytes`. */
export const CHECKPOINT_SIZE_BUCKETS: readonly number[] = [256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216];
/** OpenTelemetry GenAI (v1.41) bucket boundaries of `gen_ai.client.operation.duration`, in seconds. */
export const GEN_AI_DURATION_BUCKETS: readonly number[] = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** Bucket boundaries (seconds) of `langgraph_thread_lock_wait_seconds`. */
export const THREAD_LOCK_WAIT_BUCKETS: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** OpenTelemetry GenAI (v1.41) bucket boundaries of `gen_ai.client.token.usage`. */
export const GEN_AI_TOKEN_BUCKETS: readonly number[] = [
  1, 4, 16, 64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
];

const BREAKER_STATES: readonly BreakerState[] = ["closed", "open", "half_open"];
const PREFIX_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

/** @internal The accepted keys of {@link CreateMetricsOptions}: validation and the bad-input sweep read it. */
export const CREATE_METRICS_OPTIONS = {
  registry: rule.check("a prom-client Registry", (v) => v instanceof Registry),
  prefix: rule.check('a metric name prefix matching [a-zA-Z_:][a-zA-Z0-9_:]* (or "")', (v) => typeof v === "string" && PREFIX_RE.test(v), [
    "1x",
    "a-b",
    "a b",
    "ü",
  ]),
  defaultMetrics: rule.boolean(),
  exemplars: rule.boolean(),
  maxLabelValues: rule.integer(1, 1_000_000),
  maxLabelLength: rule.integer(MIN_LABEL_LENGTH, 65_536),
  cluster: rule.boolean(),
} as const satisfies OptionSpec<keyof CreateMetricsOptions>;

/** @internal Every series, plus what the handler and checkpointer wrapper need to write them. */
export interface MetricsCore {
  readonly exemplars: boolean;
  readonly guards: LabelGuards;
  readonly graphRuns: Counter<"graph" | "status">;
  readonly graphDuration: Histogram<"graph" | "status">;
  readonly graphsInFlight: Gauge<"graph">;
  readonly nodeExecutions: Counter<"graph" | "node" | "status">;
  readonly nodeDuration: Histogram<"graph" | "node" | "status">;
  readonly nodeRetries: Counter<"graph" | "node" | "reason">;
  readonly retriesExhausted: Counter<"graph" | "node">;
  readonly nodeTimeouts: Counter<"graph" | "node">;
  readonly fallbacks: Counter<"graph" | "node">;
  readonly bulkheadRejections: Counter<"graph" | "node">;
  readonly breakerState: Gauge<"breaker" | "state">;
  readonly breakerTransitions: Counter<"breaker" | "to">;
  readonly breakerRejections: Counter<"breaker">;
  readonly idempotencyRequests: Counter<"graph" | "node" | "result">;
  readonly interrupts: Counter<"graph" | "node">;
  readonly toolCalls: Counter<"graph" | "tool" | "status">;
  readonly toolDuration: Histogram<"graph" | "tool" | "status">;
  readonly checkpointDuration: Histogram<"saver" | "operation" | "status">;
  readonly checkpointSize: Histogram<"saver">;
  readonly genAiDuration: Histogram<GenAiLabel | "error_type">;
  readonly genAiTokens: Histogram<GenAiLabel | "gen_ai_token_type">;
  readonly traceExportSpans: Counter<"exporter" | "result">;
  readonly threadLocks: Counter<"graph" | "strategy" | "outcome">;
  readonly threadLockWait: Histogram<"graph" | "strategy">;
}

/** @internal Labels shared by the two GenAI histograms. */
export type GenAiLabel = "gen_ai_operation_name" | "gen_ai_provider_name" | "gen_ai_request_model";

/** @internal Key under which a metrics callback handler carries its {@link MetricsCore}. */
export const METRICS_CORE = Symbol.for("langgraph-ops.metrics-core");

const cores = new WeakMap<Metrics, MetricsCore>();

/** @internal The series behind `metrics`; a TypeError when `metrics` did not come from `createMetrics`. */
export function coreOf(metrics: unknown, where: string): MetricsCore {
  const core = typeof metrics === "object" && metrics !== null ? cores.get(metrics as Metrics) : undefined;
  if (core === undefined) throw new TypeError(`${where} must be the result of createMetrics(), got ${describe(metrics)}`);
  return core;
}

/** @internal Whether `value` came from `createMetrics`. */
export function isMetrics(value: unknown): value is Metrics {
  return typeof value === "object" && value !== null && cores.has(value as Metrics);
}

/**
 * Which metrics a wrapper event belongs to: the core of the metrics handler among the run's callbacks, or undefined
 * when the run was not instrumented with any metrics (such events count in every `Metrics`).
 */
function ownerOf(config: RunnableConfig | undefined): MetricsCore | undefined {
  return handlerMark(config?.callbacks, METRICS_CORE) as MetricsCore | undefined;
}

const NO_EXEMPLAR: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** @internal Observes `value` on `histogram`, with an exemplar when one is given and the core records them. */
export function observe<L extends string>(
  core: MetricsCore,
  histogram: Histogram<L>,
  labels: Partial<Record<L, string>>,
  value: number,
  exemplar: Record<string, string> | undefined,
): void {
  if (core.exemplars) histogram.observe({ labels, value, exemplarLabels: (exemplar ?? NO_EXEMPLAR) as Partial<Record<L, string>> });
  else histogram.observe(labels, value);
}

function resolveOptions(options: unknown) {
  const where = "createMetrics(options)";
  const o = checkOptions<CreateMetricsOptions>(options, CREATE_METRICS_OPTIONS, where);
  const prefix = o.prefix ?? "langgraph_";
  const exemplars = o.exemplars === true;
  const registry = (o.registry as Registry<RegistryContentType> | undefined) ?? new Registry<RegistryContentType>();
  if (exemplars) {
    if (o.registry === undefined) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    else if (registry.contentType !== Registry.OPENMETRICS_CONTENT_TYPE) {
      throw new TypeError(
        `${where}.exemplars needs a registry with the OpenMetrics content type (registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE))`,
      );
    }
  }
  return {
    registry,
    prefix,
    defaultMetrics: o.defaultMetrics === true,
    cluster: o.cluster === true,
    exemplars,
    maxLabelValues: o.maxLabelValues ?? 500,
    maxLabelLength: o.maxLabelLength ?? MAX_LABEL_LENGTH,
  };
}

function createCore(
  registry: Registry<RegistryContentType>,
  prefix: string,
  exemplars: boolean,
  maxLabelValues: number,
  maxLabelLength: number,
): MetricsCore {
  const registers = [registry];
  const p = (name: string) => `${prefix}${name}`;
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Counter<L>({ name: p(name), help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, labelNames: L[], buckets: readonly number[], full = p(name)) =>
    new Histogram<L>({ name: full, help, labelNames, buckets: [...buckets], registers, enableExemplars: exemplars });
  const guards = new LabelGuards(maxLabelValues, maxLabelLength);
  const seeded = new Set<string>();
  // Counters of a live breaker exist at 0, so rate() and alerts see them before the first transition. They are
  // registered (and so collected) before the state gauge, hence the seeding in the first one's collect.
  const seedBreakerCounters = () => {
    for (const breaker of liveCircuitBreakers()) {
      const name = guards.value("breaker", breaker.name);
      if (seeded.has(name)) continue;
      seeded.add(name);
      for (const to of BREAKER_STATES) breakerTransitions.inc({ breaker: name, to }, 0);
      breakerRejections.inc({ breaker: name }, 0);
    }
  };
  const breakerTransitions: Counter<"breaker" | "to"> = new Counter({
    name: p("circuit_breaker_transitions_total"),
    help: "Circuit breaker state transitions, by target state.",
    labelNames: ["breaker", "to"],
    registers,
    collect: seedBreakerCounters,
  });
  const breakerRejections = counter("circuit_breaker_rejections_total", "Calls rejected at once by an open circuit breaker.", ["breaker"]);
  const breakerState = new Gauge<"breaker" | "state">({
    name: p("circuit_breaker_state"),
    help: "Circuit breaker state, one-hot: 1 for the current state, 0 for the other two.",
    labelNames: ["breaker", "state"],
    registers,
    // Across cluster workers: 1 when at least one worker's breaker is in the state.
    aggregator: "max",
    collect() {
      this.reset();
      for (const breaker of liveCircuitBreakers()) {
        const name = guards.value("breaker", breaker.name);
        for (const state of BREAKER_STATES) this.set({ breaker: name, state }, breaker.state === state ? 1 : 0);
      }
    },
  });
  const seededExporters = new Set<string>();
  const traceExportSpans: Counter<"exporter" | "result"> = new Counter({
    name: p("trace_export_spans_total"),
    help: "Spans handed to a trace exporter, by exporter and result (success, failure).",
    labelNames: ["exporter", "result"],
    registers,
    // Both results of every reporting exporter exist at 0, so increase() and alerts see the first failure.
    collect() {
      for (const exporter of reportedExporters()) {
        const name = guards.value("exporter", exporter);
        if (seededExporters.has(name)) continue;
        seededExporters.add(name);
        this.inc({ exporter: name, result: "success" }, 0);
        this.inc({ exporter: name, result: "failure" }, 0);
      }
    },
  });
  return {
    exemplars,
    guards,
    traceExportSpans,
    graphRuns: counter("graph_runs_total", "Graph runs, by final status (success, error, interrupted, cancelled).", ["graph", "status"]),
    graphDuration: histogram("graph_run_duration_seconds", "Duration of graph runs.", ["graph", "status"], DURATION_BUCKETS),
    graphsInFlight: new Gauge({
      name: p("graph_runs_in_flight"),
      help: "Graph runs started and not yet finished.",
      labelNames: ["graph"],
      registers,
    }),
    nodeExecutions: counter("node_executions_total", "Node executions (each LangGraph RetryPolicy attempt counts), by status.", [
      "graph",
      "node",
      "status",
    ]),
    nodeDuration: histogram("node_duration_seconds", "Duration of node executions.", ["graph", "node", "status"], DURATION_BUCKETS),
    nodeRetries: counter("node_retries_total", "Retries of a node: withRetry attempts after a failure and LangGraph RetryPolicy re-runs.", [
      "graph",
      "node",
      "reason",
    ]),
    retriesExhausted: counter("node_retries_exhausted_total", "withRetry gave up on a node call.", ["graph", "node"]),
    nodeTimeouts: counter("node_timeouts_total", "Node attempts that passed their withTimeout deadline.", ["graph", "node"]),
    fallbacks: counter("node_fallbacks_total", "Failed node calls whose update came from a fallback.", ["graph", "node"]),
    bulkheadRejections: counter("bulkhead_rejections_total", "Node calls rejected by a full bulkhead.", ["graph", "node"]),
    breakerState,
    breakerTransitions,
    breakerRejections,
    idempotencyRequests: counter("idempotency_requests_total", "Idempotency lookups, by result (hit, miss, conflict).", [
      "graph",
      "node",
      "result",
    ]),
    threadLocks: counter(
      "thread_lock_total",
      "Claims of a thread by guardThreads runs, by strategy and outcome (acquired, rejected, waited, interrupted, taken_over).",
      ["graph", "strategy", "outcome"],
    ),
    threadLockWait: histogram(
      "thread_lock_wait_seconds",
      "Time guardThreads runs waited for their thread before running.",
      ["graph", "strategy"],
      THREAD_LOCK_WAIT_BUCKETS,
    ),
    interrupts: counter("interrupts_total", "Human-in-the-loop interrupts raised by nodes.", ["graph", "node"]),
    toolCalls: counter("tool_calls_total", "Tool calls, by status.", ["graph", "tool", "status"]),
    toolDuration: histogram("tool_duration_seconds", "Duration of tool calls.", ["graph", "tool", "status"], DURATION_BUCKETS),
    checkpointDuration: histogram(
      "checkpoint_operation_duration_seconds",
      "Duration of checkpointer operations (get, put, put_writes, list).",
      ["saver", "operation", "status"],
      CHECKPOINT_DURATION_BUCKETS,
    ),
    checkpointSize: histogram("checkpoint_size_bytes", "Serialized size of saved checkpoints.", ["saver"], CHECKPOINT_SIZE_BUCKETS),
    genAiDuration: histogram(
      "",
      "GenAI operation duration (OpenTelemetry gen_ai.client.operation.duration).",
      ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type"],
      GEN_AI_DURATION_BUCKETS,
      "gen_ai_client_operation_duration_seconds",
    ),
    genAiTokens: histogram(
      "",
      "Tokens used per GenAI operation (OpenTelemetry gen_ai.client.token.usage).",
      ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"],
      GEN_AI_TOKEN_BUCKETS,
      "gen_ai_client_token_usage",
    ),
  };
}

/** Subscribes `core` to the wrapper channels; returns the unsubscribe functions. */
function subscribeWrapperEvents(core: MetricsCore): Array<() => void> {
  const { guards } = core;
  // A node event counts here when its run was instrumented with these metrics, or with no metrics at all.
  const mine = (e: NodeEventBase) => {
    const owner = ownerOf(e.config);
    return owner === undefined || owner === core;
  };
  const graphNode = (e: NodeEventBase) => ({ graph: guards.value("graph", e.graph), node: guards.value("node", e.node) });
  return [
    subscribe(CHANNELS.retry, (e) => {
      if (mine(e)) core.nodeRetries.inc({ ...graphNode(e), reason: e.reason });
    }),
    subscribe(CHANNELS.retriesExhausted, (e) => {
      if (mine(e)) core.retriesExhausted.inc(graphNode(e));
    }),
    subscribe(CHANNELS.timeout, (e) => {
      if (mine(e)) core.nodeTimeouts.inc(graphNode(e));
    }),
    subscribe(CHANNELS.fallback, (e) => {
      if (mine(e)) core.fallbacks.inc(graphNode(e));
    }),
    subscribe(CHANNELS.bulkheadRejected, (e) => {
      if (mine(e)) core.bulkheadRejections.inc(graphNode(e));
    }),
    subscribe(CHANNELS.idempotency, (e) => {
      if (mine(e)) core.idempotencyRequests.inc({ ...graphNode(e), result: e.result });
    }),
    // Breakers are process-wide (one per dependency, shared by graphs): every Metrics reports all of them.
    subscribe(CHANNELS.breakerStateChange, (e) => {
      core.breakerTransitions.inc({ breaker: guards.value("breaker", e.breaker), to: e.to });
    }),
    subscribe(CHANNELS.breakerRejected, (e) => {
      core.breakerRejections.inc({ breaker: guards.value("breaker", e.breaker) });
    }),
    // Thread claims happen before a run has callbacks: every Metrics counts them, under the graph's bound name.
    subscribe(CHANNELS.threadLock, (e) => {
      const graph = guards.value("graph", e.graph);
      core.threadLocks.inc({ graph, strategy: e.strategy, outcome: e.outcome });
      if (e.outcome === "waited" || (e.outcome === "taken_over" && e.waitedMs > 0)) {
        core.threadLockWait.observe({ graph, strategy: e.strategy }, e.waitedMs / 1000);
      }
    }),
    // Exporters are process-wide too.
    subscribe(CHANNELS.traceExport, (e) => {
      core.traceExportSpans.inc({ exporter: guards.value("exporter", e.exporter), result: e.result }, e.spans);
    }),
  ];
}

/**
 * Creates the langgraph-ops series on a prom-client registry and starts counting the resilience wrappers' events.
 * Pass the result to `instrument(graph, { metrics })` and expose it with `serveMetrics(metrics)` or `metrics.handler`.
 *
 * Wrapper events (retries, timeouts, fallbacks, bulkhead and idempotency) count in the `Metrics` a graph was
 * instrumented with; events from runs not instrumented with any `Metrics` count in every `Metrics` (under the
 * `graph` label "unknown" unless the name was bound). Circuit breakers are process-wide and appear in every `Metrics`.
 * @example
 * const metrics = createMetrics();
 * const graph = instrument(builder.compile(), { metrics, name: "support-agent" });
 * await serveMetrics(metrics, { port: 9464 });
 */
export function createMetrics(options?: CreateMetricsOptions): Metrics {
  const o = resolveOptions(options);
  if (o.registry.getSingleMetric(`${o.prefix}graph_runs_total`) !== undefined) {
    throw new TypeError(
      `createMetrics(options).registry already holds ${o.prefix}graph_runs_total; use one Metrics per registry or another prefix`,
    );
  }
  const core = createCore(o.registry, o.prefix, o.exemplars, o.maxLabelValues, o.maxLabelLength);
  if (o.defaultMetrics) collectDefaultMetrics({ register: o.registry });
  let unsubscribe: Array<() => void> | undefined = subscribeWrapperEvents(core);
  if (o.cluster) unsubscribe.push(joinCluster(o.registry));
  const metrics: Metrics = {
    registry: o.registry,
    prefix: o.prefix,
    get contentType() {
      return o.registry.contentType;
    },
    text: () => o.registry.metrics(),
    handler: (req, res) => writeMetrics(metrics, req, res),
    close() {
      if (unsubscribe === undefined) return;
      for (const stop of unsubscribe) stop();
      unsubscribe = undefined;
    },
  };
  cores.set(metrics, core);
  return metrics;
}
