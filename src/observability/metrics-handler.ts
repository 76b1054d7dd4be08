/**
 * The metrics sink behind `instrument(graph, { metrics })`: graph runs, node runs (one per attempt), tool runs and
 * LLM runs as the run tracker reports them. Label objects are built once per node, tool and model and reused; what
 * a run needs at its end (its label objects, a root's exemplar) lives in the tracker's record.
 *
 * Runs in the caller's flow, so durations are exact, the series are up to date when `invoke` returns, and the active
 * OpenTelemetry span is at hand for exemplars.
 */
import { context, trace } from "@opentelemetry/api";
import type { LlmCost } from "./cost.js";
import { METRICS_CORE, type MetricsCore, observe } from "./metrics.js";
import { PRICE_TOKEN_TYPES, type PriceBook, type PriceTokenType } from "./prices.js";
import { SinkCallbackHandler } from "./runs/callback-source.js";
import type { RunEnd, RunSink, RunTracking, TrackedRun } from "./runs/types.js";

export { tokenUsage } from "./runs/facts.js";

/** Final status of a graph run. */
export type GraphRunStatus = "success" | "error" | "interrupted" | "cancelled";
/** Status of one node execution (`cancelled`: aborted because its run was cancelled or a sibling failed). */
export type NodeStatus = "success" | "error" | "interrupted" | "cancelled";

const GRAPH_CALLBACK_HANDLER = Symbol.for("langgraph.graph_callback_handler");

type Exemplar = Record<string, string> | undefined;
type StatusLabels<L> = Record<GraphRunStatus, L>;

interface NodeSeries {
  status: StatusLabels<{ graph: string; node: string; status: string }>;
  retryPolicy: { graph: string; node: string; reason: string };
  node: { graph: string; node: string };
}
type ToolSeries = StatusLabels<{ graph: string; tool: string; status: string }>;
type GenAiLabels = { gen_ai_operation_name: string; gen_ai_provider_name: string; gen_ai_request_model: string };
type CostLabels = { graph: string; gen_ai_provider_name: string; gen_ai_request_model: string; gen_ai_token_type: string };
/** Label objects of one (operation, provider, model), built once. */
interface LlmSeries {
  ok: GenAiLabels & { error_type: string };
  input: GenAiLabels & { gen_ai_token_type: string };
  output: GenAiLabels & { gen_ai_token_type: string };
  base: GenAiLabels;
  /** Cost and unpriced-token labels by billed type; built on the first call that reports tokens. */
  cost: Record<PriceTokenType, CostLabels> | undefined;
}

function costLabels(graph: string, base: GenAiLabels): Record<PriceTokenType, CostLabels> {
  const out = {} as Record<PriceTokenType, CostLabels>;
  for (const type of PRICE_TOKEN_TYPES) {
    out[type] = {
      graph,
      gen_ai_provider_name: base.gen_ai_provider_name,
      gen_ai_request_model: base.gen_ai_request_model,
      gen_ai_token_type: type,
    };
  }
  return out;
}

function statusLabels<L>(make: (status: GraphRunStatus) => L): StatusLabels<L> {
  return { success: make("success"), error: make("error"), interrupted: make("interrupted"), cancelled: make("cancelled") };
}

/** The metrics sink of one graph. */
class MetricsSink implements RunSink {
  readonly name = "langgraph-ops-metrics";
  readonly core: MetricsCore;
  readonly graph: string;
  tracker: RunTracking | undefined;
  #slot = 0;
  readonly #nodes = new Map<string, NodeSeries>();
  /** Keyed by guarded label values, so these stay as bounded as the labels. */
  readonly #tools = new Map<string, ToolSeries>();
  readonly #llms = new Map<string, Map<string, LlmSeries>>();
  readonly #graphLabels: StatusLabels<{ graph: string; status: string }>;
  readonly #inFlight: { graph: string };
  readonly #graphOnly: { graph: string };

  constructor(core: MetricsCore, graphName: string) {
    this.core = core;
    const graph = core.guards.value("graph", graphName);
    this.graph = graph;
    this.#graphLabels = statusLabels((status) => ({ graph, status }));
    this.#inFlight = { graph };
    this.#graphOnly = { graph };
    // The series exists from instrument() on, so dashboards show 0 rather than no data.
    core.graphsInFlight.inc(this.#inFlight, 0);
    // Run counters start at 0 for every status, so increase() and rate() see the first error of a graph.
    for (const status of ["success", "error", "interrupted", "cancelled"] as const) core.graphRuns.inc({ graph, status }, 0);
  }

  /** The tracker costs LLM calls by the prices these metrics were created with. */
  get prices(): PriceBook {
    return this.core.prices;
  }

  attach(slot: number, tracker: RunTracking): void {
    this.#slot = slot;
    this.tracker = tracker;
  }

  #exemplar(root: TrackedRun | undefined): Exemplar {
    if (!this.core.exemplars) return undefined;
    const span = trace.getSpanContext(context.active());
    if (span !== undefined && trace.isSpanContextValid(span)) return { trace_id: span.traceId, span_id: span.spanId };
    return (root?.slots[this.#slot] as { exemplar: Exemplar } | undefined)?.exemplar;
  }

  #nodeSeries(name: string): NodeSeries {
    const cached = this.#nodes.get(name);
    if (cached !== undefined) return cached;
    const graph = this.graph;
    const node = this.core.guards.value("node", name);
    const series: NodeSeries = {
      status: statusLabels((status) => ({ graph, node, status })),
      retryPolicy: { graph, node, reason: "retry_policy" },
      node: { graph, node },
    };
    // Past the label limit every new name folds into __other__; keep the cache as bounded as the labels.
    if (this.#nodes.size < this.core.guards.max) this.#nodes.set(name, series);
    return series;
  }

  #toolSeries(name: string): ToolSeries {
    const tool = this.core.guards.value("tool", name);
    let series = this.#tools.get(tool);
    if (series === undefined) {
      const graph = this.graph;
      series = statusLabels((status) => ({ graph, tool, status }));
      this.#tools.set(tool, series);
    }
    return series;
  }

  #llmSeries(run: TrackedRun): LlmSeries {
    const llm = run.llm as NonNullable<TrackedRun["llm"]>;
    const guards = this.core.guards;
    const provider = guards.value("gen_ai_provider_name", llm.provider);
    const model = guards.value("gen_ai_request_model", llm.model);
    const key = llm.operation === "chat" ? provider : `${llm.operation}:${provider}`;
    let byModel = this.#llms.get(key);
    if (byModel === undefined) {
      byModel = new Map();
      this.#llms.set(key, byModel);
    }
    let series = byModel.get(model);
    if (series === undefined) {
      const base = { gen_ai_operation_name: llm.operation, gen_ai_provider_name: provider, gen_ai_request_model: model };
      series = {
        base,
        ok: { ...base, error_type: "" },
        input: { ...base, gen_ai_token_type: "input" },
        output: { ...base, gen_ai_token_type: "output" },
        cost: undefined,
      };
      byModel.set(model, series);
    }
    return series;
  }

  start(run: TrackedRun): void {
    const slots = run.slots;
    switch (run.kind) {
      case "root":
        slots[this.#slot] = { exemplar: this.core.exemplars ? this.#exemplar(undefined) : undefined };
        this.core.graphsInFlight.inc(this.#inFlight);
        return;
      case "node": {
        const series = this.#nodeSeries(run.name);
        slots[this.#slot] = series;
        if (run.retried) this.core.nodeRetries.inc(series.retryPolicy);
        return;
      }
      case "tool":
        slots[this.#slot] = this.#toolSeries(run.name);
        return;
      case "llm":
        slots[this.#slot] = this.#llmSeries(run);
    }
  }

  chunk(run: TrackedRun, nowMs: number): void {
    const series = run.slots[this.#slot] as LlmSeries | undefined;
    if (series === undefined) return;
    if (run.lastChunkMs === 0) this.core.genAiTimeToFirstChunk.observe(series.base, (nowMs - run.startMs) / 1000);
    else this.core.genAiTimePerOutputChunk.observe(series.base, (nowMs - run.lastChunkMs) / 1000);
  }

  #cost(series: LlmSeries, cost: LlmCost): void {
    const labels = series.cost ?? costLabels(this.graph, series.base);
    series.cost = labels;
    for (const type of PRICE_TOKEN_TYPES) {
      const usd = cost.usd[type];
      if (usd !== undefined) this.core.llmCost.inc(labels[type], usd);
      const unpriced = cost.unpriced[type];
      if (unpriced !== undefined) this.core.llmUnpricedTokens.inc(labels[type], unpriced);
    }
  }

  end(run: TrackedRun, end: RunEnd): void {
    const slot = run.slots[this.#slot];
    if (slot === undefined) return;
    const status = end.status;
    const seconds = (end.endMs - run.startMs) / 1000;
    const core = this.core;
    switch (run.kind) {
      case "root": {
        core.graphsInFlight.dec(this.#inFlight);
        // A swept run is not counted as a run: no one knows how it ended.
        if (status === "abandoned") return;
        const labels = this.#graphLabels[status];
        core.graphRuns.inc(labels);
        observe(core, core.graphDuration, labels, seconds, this.#exemplar(run));
        // A run's cost is known only when every token it used was priced.
        const usage = run.usage;
        if (usage !== undefined && usage.unpricedTokens === 0)
          observe(core, core.llmRunCost, this.#graphOnly, usage.costUsd, this.#exemplar(run));
        return;
      }
      case "node": {
        // An abandoned stream counts its graph run only; a swept node has no outcome to count.
        if (status === "abandoned" || (status === "cancelled" && end.error === undefined)) return;
        const series = slot as NodeSeries;
        if (status === "interrupted" && end.firstInterrupt) core.interrupts.inc(series.node);
        const labels = series.status[status];
        core.nodeExecutions.inc(labels);
        observe(core, core.nodeDuration, labels, seconds, this.#exemplar(run.root));
        return;
      }
      case "tool": {
        if (status === "abandoned" || (status === "cancelled" && end.error === undefined)) return;
        const labels = (slot as ToolSeries)[status];
        core.toolCalls.inc(labels);
        observe(core, core.toolDuration, labels, seconds, this.#exemplar(run.root));
        return;
      }
      case "llm": {
        if (status === "abandoned" || (status === "cancelled" && end.error === undefined)) return;
        const series = slot as LlmSeries;
        const exemplar = this.#exemplar(run.root);
        if (status === "success") {
          observe(core, core.genAiDuration, series.ok, seconds, exemplar);
          const usage = end.usage;
          if (usage?.input !== undefined) observe(core, core.genAiTokens, series.input, usage.input, exemplar);
          if (usage?.output !== undefined) observe(core, core.genAiTokens, series.output, usage.output, exemplar);
          if (end.cost !== undefined) this.#cost(series, end.cost);
          return;
        }
        // Failures are rare enough to build their labels per call.
        const labels = { ...series.base, error_type: core.guards.value("error_type", end.errorType ?? status) };
        observe(core, core.genAiDuration, labels, seconds, exemplar);
      }
    }
  }
}

/**
 * Records graph, node, tool and LLM series for one instrumented graph. Created by `instrument()`; exported for
 * applications that attach callbacks themselves.
 */
export class MetricsCallbackHandler extends SinkCallbackHandler {
  override name = "langgraph-ops-metrics";
  /** @internal Lets wrapper events find the metrics their run belongs to. */
  readonly [METRICS_CORE]: MetricsCore;
  readonly #sink: MetricsSink;

  /** @param graphName the `graph` label of every series this handler writes */
  constructor(core: MetricsCore, graphName: string) {
    const sink = new MetricsSink(core, graphName);
    super(sink);
    this.#sink = sink;
    this[METRICS_CORE] = core;
    // Makes LangGraph (>= 1.7) call handleInterrupt, which also reports static interruptBefore/After pauses.
    (this as unknown as Record<symbol, boolean>)[GRAPH_CALLBACK_HANDLER] = true;
  }

  /** Runs started and not yet ended (graph, node, tool, LLM and internal runs); 0 when the graph is idle. */
  get pendingRuns(): number {
    // Reading `input` builds the standalone tracker only when the sink has none yet.
    return (this.#sink.tracker ?? (this.input as unknown as RunTracking)).size;
  }
}
