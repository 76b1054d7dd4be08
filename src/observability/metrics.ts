/**
 * The Prometheus series of the kit, on a prom-client registry. Graph, node, tool and LLM series are fed by the
 * callback handler that `instrument()` attaches; wrapper series by the diagnostics channels the resilience wrappers
 * publish on; the breaker state gauge is computed at scrape time from the live breakers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RunnableConfig } from "@langchain/core/runnables";
import { Counter, Gauge, Histogram, Registry, type RegistryContentType, collectDefaultMetrics } from "prom-client";
import { liveCircuitBreakers } from "../resilience/circuit-breaker.js";
import { liveRateLimiters } from "../resilience/rate-limit.js";
import { checkOptions, describe, type OptionSpec, rule } from "../core/options.js";
import { joinCluster } from "./cluster-worker.js";
import { writeMetrics } from "./exposition.js";
import { CHANNELS, handlerMark, type NodeEventBase, subscribe } from "../core/events.js";
import { LabelGuards, MAX_LABEL_LENGTH, MIN_LABEL_LENGTH } from "./label-guard.js";
import { BREAKER_STATES, DEFAULT_PREFIX, EXPORT_RESULTS, type LabelOf, labelNames, SERIES, type SeriesKey, seriesName } from "./series.js";
import { PRICES_RULE, type PriceBook, type Prices, priceBook } from "./prices.js";
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
  /**
   * USD per million tokens by model, for `langgraph_llm_cost_usd_total` and the per-run cost on root spans and log
   * lines. Keys: exact model names, `"prefix*"` and `"/regex/flags"`; the response model is looked up first, then
   * the request model. The kit ships no prices: tokens of a model (or token type) with no price count in
   * `langgraph_llm_unpriced_tokens_total`, never at 0.
   * @example { "gpt-4o-mini*": { input: 0.15, cached_input: 0.075, output: 0.6 } }
   */
  prices?: Prices;
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

export {
  CHECKPOINT_DURATION_BUCKETS,
  CHECKPOINT_SIZE_BUCKETS,
  DURATION_BUCKETS,
  GEN_AI_DURATION_BUCKETS,
  GEN_AI_TOKEN_BUCKETS,
  THREAD_LOCK_WAIT_BUCKETS,
} from "./series.js";

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
  prices: PRICES_RULE,
} as const satisfies OptionSpec<keyof CreateMetricsOptions>;

/** @internal Every series, plus what the handler and checkpointer wrapper need to write them. */
export interface MetricsCore {
  readonly exemplars: boolean;
  readonly guards: LabelGuards;
  /** The user's price table, compiled. */
  readonly prices: PriceBook;
  readonly graphRuns: Counter<LabelOf<"graphRuns">>;
  readonly graphDuration: Histogram<LabelOf<"graphDuration">>;
  readonly graphsInFlight: Gauge<LabelOf<"graphsInFlight">>;
  readonly nodeExecutions: Counter<LabelOf<"nodeExecutions">>;
  readonly nodeDuration: Histogram<LabelOf<"nodeDuration">>;
  readonly nodeRetries: Counter<LabelOf<"nodeRetries">>;
  readonly retriesExhausted: Counter<LabelOf<"retriesExhausted">>;
  readonly nodeTimeouts: Counter<LabelOf<"nodeTimeouts">>;
  readonly fallbacks: Counter<LabelOf<"fallbacks">>;
  readonly bulkheadRejections: Counter<LabelOf<"bulkheadRejections">>;
  readonly breakerState: Gauge<LabelOf<"breakerState">>;
  readonly breakerFleetState: Gauge<LabelOf<"breakerFleetState">>;
  readonly breakerTransitions: Counter<LabelOf<"breakerTransitions">>;
  readonly breakerRejections: Counter<LabelOf<"breakerRejections">>;
  readonly idempotencyRequests: Counter<LabelOf<"idempotencyRequests">>;
  readonly interrupts: Counter<LabelOf<"interrupts">>;
  readonly toolCalls: Counter<LabelOf<"toolCalls">>;
  readonly toolDuration: Histogram<LabelOf<"toolDuration">>;
  readonly checkpointDuration: Histogram<LabelOf<"checkpointDuration">>;
  readonly checkpointSize: Histogram<LabelOf<"checkpointSize">>;
  readonly genAiDuration: Histogram<LabelOf<"genAiDuration">>;
  readonly genAiTokens: Histogram<LabelOf<"genAiTokens">>;
  readonly genAiTimeToFirstChunk: Histogram<LabelOf<"genAiTimeToFirstChunk">>;
  readonly genAiTimePerOutputChunk: Histogram<LabelOf<"genAiTimePerOutputChunk">>;
  readonly llmCost: Counter<LabelOf<"llmCost">>;
  readonly llmUnpricedTokens: Counter<LabelOf<"llmUnpricedTokens">>;
  readonly llmRunCost: Histogram<LabelOf<"llmRunCost">>;
  readonly traceExportSpans: Counter<LabelOf<"traceExportSpans">>;
  readonly threadLocks: Counter<LabelOf<"threadLocks">>;
  readonly threadLockWait: Histogram<LabelOf<"threadLockWait">>;
  readonly storeErrors: Counter<LabelOf<"storeErrors">>;
  readonly rateLimitWait: Histogram<LabelOf<"rateLimitWait">>;
  readonly rateLimitRejections: Counter<LabelOf<"rateLimitRejections">>;
  readonly rateLimitAvailable: Gauge<LabelOf<"rateLimitAvailable">>;
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
  const prefix = o.prefix ?? DEFAULT_PREFIX;
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
    prices: priceBook(o.prices),
  };
}

function createCore(
  registry: Registry<RegistryContentType>,
  prefix: string,
  exemplars: boolean,
  maxLabelValues: number,
  maxLabelLength: number,
  prices: PriceBook,
): MetricsCore {
  const registers = [registry];
  const base = <K extends SeriesKey>(key: K) => ({
    name: seriesName(key, prefix),
    help: SERIES[key].help,
    labelNames: labelNames(key),
    registers,
  });
  const counter = <K extends SeriesKey>(key: K) => new Counter<LabelOf<K>>(base(key));
  const gauge = <K extends SeriesKey>(key: K) => new Gauge<LabelOf<K>>(base(key));
  const histogram = <K extends SeriesKey>(key: K) =>
    new Histogram<LabelOf<K>>({
      ...base(key),
      buckets: [...((SERIES[key] as { buckets?: readonly number[] }).buckets ?? [])],
      enableExemplars: exemplars,
    });
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
  const breakerTransitions: Counter<LabelOf<"breakerTransitions">> = new Counter({
    ...base("breakerTransitions"),
    collect: seedBreakerCounters,
  });
  const breakerRejections = counter("breakerRejections");
  const breakerState = new Gauge<LabelOf<"breakerState">>({
    ...base("breakerState"),
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
  const breakerFleetState = new Gauge<LabelOf<"breakerFleetState">>({
    ...base("breakerFleetState"),
    // Across cluster workers: 1 when at least one worker last read the state.
    aggregator: "max",
    collect() {
      this.reset();
      for (const breaker of liveCircuitBreakers()) {
        if (!breaker.shared) continue;
        const name = guards.value("breaker", breaker.name);
        const shared = breaker.sharedState;
        for (const state of BREAKER_STATES) this.set({ breaker: name, state }, shared === state ? 1 : 0);
      }
    },
  });
  const seededExporters = new Set<string>();
  const traceExportSpans: Counter<LabelOf<"traceExportSpans">> = new Counter({
    ...base("traceExportSpans"),
    // Every result of every reporting exporter exists at 0, so increase() and alerts see the first failure.
    collect() {
      for (const exporter of reportedExporters()) {
        const name = guards.value("exporter", exporter);
        if (seededExporters.has(name)) continue;
        seededExporters.add(name);
        for (const result of EXPORT_RESULTS) this.inc({ exporter: name, result }, 0);
      }
    },
  });
  const seededLimiters = new Set<string>();
  // A live limiter's rejections exist at 0, so rate() and the alert see the first one.
  const rateLimitRejections = (): Counter<LabelOf<"rateLimitRejections">> =>
    new Counter({
      ...base("rateLimitRejections"),
      collect() {
        for (const limiter of liveRateLimiters()) {
          const name = guards.value("limiter", limiter.name);
          if (seededLimiters.has(name)) continue;
          seededLimiters.add(name);
          this.inc({ limiter: name }, 0);
        }
      },
    });
  const rateLimitAvailable = () =>
    new Gauge<LabelOf<"rateLimitAvailable">>({
      ...base("rateLimitAvailable"),
      // Across cluster workers: each worker limits on its own share, so their capacity adds up.
      aggregator: "sum",
      collect() {
        this.reset();
        for (const limiter of liveRateLimiters()) {
          const name = guards.value("limiter", limiter.name);
          const { requests, tokens } = limiter.available();
          if (requests !== undefined) this.set({ limiter: name, resource: "requests" }, requests);
          if (tokens !== undefined) this.set({ limiter: name, resource: "tokens" }, tokens);
        }
      },
    });
  // Registration order is exposition order: the catalogue's, with the breaker and exporter series where they were.
  return {
    exemplars,
    guards,
    prices,
    traceExportSpans,
    graphRuns: counter("graphRuns"),
    graphDuration: histogram("graphDuration"),
    graphsInFlight: gauge("graphsInFlight"),
    nodeExecutions: counter("nodeExecutions"),
    nodeDuration: histogram("nodeDuration"),
    nodeRetries: counter("nodeRetries"),
    retriesExhausted: counter("retriesExhausted"),
    nodeTimeouts: counter("nodeTimeouts"),
    fallbacks: counter("fallbacks"),
    bulkheadRejections: counter("bulkheadRejections"),
    breakerState,
    breakerFleetState,
    breakerTransitions,
    breakerRejections,
    idempotencyRequests: counter("idempotencyRequests"),
    interrupts: counter("interrupts"),
    toolCalls: counter("toolCalls"),
    toolDuration: histogram("toolDuration"),
    checkpointDuration: histogram("checkpointDuration"),
    checkpointSize: histogram("checkpointSize"),
    genAiDuration: histogram("genAiDuration"),
    genAiTokens: histogram("genAiTokens"),
    genAiTimeToFirstChunk: histogram("genAiTimeToFirstChunk"),
    genAiTimePerOutputChunk: histogram("genAiTimePerOutputChunk"),
    llmCost: counter("llmCost"),
    llmUnpricedTokens: counter("llmUnpricedTokens"),
    llmRunCost: histogram("llmRunCost"),
    threadLocks: counter("threadLocks"),
    threadLockWait: histogram("threadLockWait"),
    // Created here, in the catalogue's order.
    rateLimitWait: histogram("rateLimitWait"),
    rateLimitRejections: rateLimitRejections(),
    rateLimitAvailable: rateLimitAvailable(),
    storeErrors: counter("storeErrors"),
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
    // Rate limiters are process-wide (one per provider budget), like breakers.
    subscribe(CHANNELS.rateLimitWait, (e) => {
      core.rateLimitWait.observe({ limiter: guards.value("limiter", e.limiter) }, e.waitedMs / 1000);
    }),
    subscribe(CHANNELS.rateLimitRejected, (e) => {
      core.rateLimitRejections.inc({ limiter: guards.value("limiter", e.limiter) });
    }),
    // Stores are process-wide, shared by graphs, like breakers.
    subscribe(CHANNELS.storeError, (e) => {
      core.storeErrors.inc({ store: guards.value("store", e.store), operation: guards.value("operation", e.operation) });
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
  const runs = seriesName("graphRuns", o.prefix);
  if (o.registry.getSingleMetric(runs) !== undefined) {
    throw new TypeError(`createMetrics(options).registry already holds ${runs}; use one Metrics per registry or another prefix`);
  }
  const core = createCore(o.registry, o.prefix, o.exemplars, o.maxLabelValues, o.maxLabelLength, o.prices);
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
