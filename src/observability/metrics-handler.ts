/**
 * The LangChain callback handler behind `instrument(graph, { metrics })`. It recognises the graph's root run, node
 * runs (one per attempt), tool runs and LLM runs from the callback stream and records them; LangGraph internals
 * (`__start__`, conditional-edge lambdas, subgraph roots) are followed only to keep the run tree linked.
 *
 * Runs in the caller's flow (`awaitHandlers`), so durations are exact, the series are up to date when `invoke`
 * returns, and the active OpenTelemetry span is at hand for exemplars. Per run it allocates one small record; label
 * objects are built once per node and reused.
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";
import type { LLMResult } from "@langchain/core/outputs";
import { isGraphBubbleUp, isGraphInterrupt } from "@langchain/langgraph";
import { context, trace } from "@opentelemetry/api";
import { METRICS_CORE, type MetricsCore, observe } from "./metrics.js";

/** Final status of a graph run. */
export type GraphRunStatus = "success" | "error" | "interrupted" | "cancelled";
/** Status of one node execution (`cancelled`: aborted because its run was cancelled or a sibling failed). */
export type NodeStatus = "success" | "error" | "interrupted" | "cancelled";

const GRAPH_CALLBACK_HANDLER = Symbol.for("langgraph.graph_callback_handler");
const ROOT = 0;
const NODE = 1;
const TOOL = 2;
const LLM = 3;

type Exemplar = Record<string, string> | undefined;

interface RootRun {
  kind: typeof ROOT;
  runId: string;
  start: number;
  exemplar: Exemplar;
  interrupted: boolean;
  /** Task namespaces of node attempts that failed; a later attempt of one is a RetryPolicy re-run. */
  failedTasks: Set<string> | undefined;
}

interface NodeRun {
  kind: typeof NODE;
  runId: string;
  start: number;
  root: RootRun | undefined;
  series: NodeSeries;
  task: string | undefined;
  parentNode: NodeRun | undefined;
  childInterrupted: boolean;
}

interface ToolRun {
  kind: typeof TOOL;
  runId: string;
  start: number;
  root: RootRun | undefined;
  series: ToolSeries;
}

type ToolStatus = "success" | "error" | "interrupted";
type ToolSeries = Record<ToolStatus, { graph: string; tool: string; status: string }>;

type GenAiLabels = { gen_ai_operation_name: string; gen_ai_provider_name: string; gen_ai_request_model: string };
/** Label objects of one (operation, provider, model), built once. */
interface LlmSeries {
  ok: GenAiLabels & { error_type: string };
  input: GenAiLabels & { gen_ai_token_type: string };
  output: GenAiLabels & { gen_ai_token_type: string };
  base: GenAiLabels;
}

interface LlmRun {
  kind: typeof LLM;
  runId: string;
  start: number;
  root: RootRun | undefined;
  series: LlmSeries;
}

type Run = RootRun | NodeRun | ToolRun | LlmRun;

interface StatusLabels<L> {
  success: L;
  error: L;
  interrupted: L;
  cancelled: L;
}

interface NodeSeries {
  status: StatusLabels<{ graph: string; node: string; status: string }>;
  retryPolicy: { graph: string; node: string; reason: string };
  node: { graph: string; node: string };
}

type Metadata = Record<string, unknown> | undefined;

/** Runnables LangGraph serialises its graphs as; other parentless runs (e.g. `updateState`'s) are not graph runs. */
const GRAPH_CLASSES = new Set(["CompiledStateGraph", "CompiledGraph", "Pregel", "CompiledMessageGraph", "RemoteGraph"]);

/** Stands for a parentless run that is not a graph run, so its children are not mistaken for graph runs. */
const DETACHED: RootRun = { kind: 0, runId: "", start: 0, exemplar: undefined, interrupted: false, failedTasks: undefined };

const now = (): number => performance.now();

function isAbort(error: unknown): boolean {
  const e = error as { name?: unknown; message?: unknown } | null | undefined;
  return e?.name === "AbortError" || e?.message === "Abort" || e?.message === "Aborted";
}

function hasStepTag(tags: string[] | undefined): boolean {
  if (tags === undefined) return false;
  let step = false;
  for (const tag of tags) {
    if (tag === "langsmith:hidden") return false;
    if (tag.startsWith("graph:step:")) step = true;
  }
  return step;
}

function statusLabels<L>(make: (status: NodeStatus) => L): StatusLabels<L> {
  return { success: make("success"), error: make("error"), interrupted: make("interrupted"), cancelled: make("cancelled") };
}

function tokenCount(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Input and output tokens of an LLM result: `usage_metadata` first, then the providers' `llmOutput` shapes. */
export function tokenUsage(output: LLMResult): { input: number | undefined; output: number | undefined } {
  let input: number | undefined;
  let out: number | undefined;
  for (const generations of output.generations ?? []) {
    for (const generation of generations) {
      const usage = (generation as { message?: { usage_metadata?: { input_tokens?: unknown; output_tokens?: unknown } } }).message
        ?.usage_metadata;
      if (usage === undefined) continue;
      const i = tokenCount(usage.input_tokens);
      const o = tokenCount(usage.output_tokens);
      if (i !== undefined) input = (input ?? 0) + i;
      if (o !== undefined) out = (out ?? 0) + o;
    }
  }
  if (input !== undefined || out !== undefined) return { input, output: out };
  const llmOutput = output.llmOutput as Record<string, Record<string, unknown> | undefined> | undefined;
  const counted = llmOutput?.tokenUsage ?? llmOutput?.estimatedTokenUsage;
  if (counted !== undefined) return { input: tokenCount(counted.promptTokens), output: tokenCount(counted.completionTokens) };
  const raw = llmOutput?.usage;
  if (raw !== undefined) {
    return { input: tokenCount(raw.input_tokens ?? raw.prompt_tokens), output: tokenCount(raw.output_tokens ?? raw.completion_tokens) };
  }
  return { input: undefined, output: undefined };
}

function errorType(error: unknown): string {
  const e = error as { status?: unknown; name?: unknown; constructor?: { name?: unknown } } | null | undefined;
  if (typeof e?.status === "number") return String(e.status);
  if (typeof e?.name === "string" && e.name !== "") return e.name;
  return "_OTHER";
}

function modelOf(extraParams: Record<string, unknown> | undefined, metadata: Metadata): string {
  const params = extraParams?.invocation_params as Record<string, unknown> | undefined;
  const model = params?.model ?? params?.model_name ?? params?.modelName ?? metadata?.ls_model_name;
  return typeof model === "string" && model !== "" ? model : "unknown";
}

/**
 * Records graph, node, tool and LLM series for one instrumented graph. Created by `instrument()`; exported for
 * applications that attach callbacks themselves.
 */
export class MetricsCallbackHandler extends BaseCallbackHandler {
  override name = "langgraph-ops-metrics";
  override awaitHandlers = true;
  override ignoreRetriever = true;
  override ignoreCustomEvent = true;
  /** @internal Lets wrapper events find the metrics their run belongs to. */
  readonly [METRICS_CORE]: MetricsCore;

  private readonly core: MetricsCore;
  private readonly graph: string;
  private readonly runs = new Map<string, Run>();
  private readonly nodes = new Map<string, NodeSeries>();
  /** Keyed by guarded label values, so these stay as bounded as the labels. */
  private readonly tools = new Map<string, ToolSeries>();
  private readonly llms = new Map<string, Map<string, LlmSeries>>();
  private readonly graphLabels: StatusLabels<{ graph: string; status: string }>;
  private readonly inFlight: { graph: string };

  /** @param graphName the `graph` label of every series this handler writes */
  constructor(core: MetricsCore, graphName: string) {
    super();
    this.core = core;
    this[METRICS_CORE] = core;
    // Makes LangGraph (>= 1.7) call handleInterrupt, which also reports static interruptBefore/After pauses.
    (this as unknown as Record<symbol, boolean>)[GRAPH_CALLBACK_HANDLER] = true;
    const graph = core.guards.value("graph", graphName);
    this.graph = graph;
    this.graphLabels = statusLabels((status) => ({ graph, status }));
    this.inFlight = { graph };
    // The series exists from instrument() on, so dashboards show 0 rather than no data.
    core.graphsInFlight.inc(this.inFlight, 0);
    // Run counters start at 0 for every status, so increase() and rate() see the first error of a graph.
    for (const status of ["success", "error", "interrupted", "cancelled"] as const) core.graphRuns.inc({ graph, status }, 0);
  }

  /** Runs started and not yet ended (graph, node, tool, LLM and internal runs); 0 when the graph is idle. */
  get pendingRuns(): number {
    return this.runs.size;
  }

  private exemplar(root: RootRun | undefined): Exemplar {
    if (!this.core.exemplars) return undefined;
    const span = trace.getSpanContext(context.active());
    if (span !== undefined && trace.isSpanContextValid(span)) return { trace_id: span.traceId, span_id: span.spanId };
    return root?.exemplar;
  }

  private nodeSeries(name: string): NodeSeries {
    const cached = this.nodes.get(name);
    if (cached !== undefined) return cached;
    const graph = this.graph;
    const node = this.core.guards.value("node", name);
    const series: NodeSeries = {
      status: statusLabels((status) => ({ graph, node, status })),
      retryPolicy: { graph, node, reason: "retry_policy" },
      node: { graph, node },
    };
    // Past the label limit every new name folds into __other__; keep the cache as bounded as the labels.
    if (this.nodes.size < this.core.guards.max) this.nodes.set(name, series);
    return series;
  }

  private rootOf(parentRunId: string | undefined): RootRun | undefined {
    const parent = parentRunId === undefined ? undefined : this.runs.get(parentRunId);
    if (parent === undefined) return undefined;
    const root = parent.kind === ROOT ? parent : parent.root;
    return root === DETACHED ? undefined : root;
  }

  /** LangChain calls this as (chain, inputs, runId, parentRunId, tags, metadata, runType, runName). */
  override handleChainStart(
    chain: Serialized,
    _inputs: unknown,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Metadata,
    _runType?: string,
    runName?: string,
  ): void {
    const parent = parentRunId === undefined ? undefined : this.runs.get(parentRunId);
    if (parent === undefined) {
      const id = chain?.id;
      if (!Array.isArray(id) || !GRAPH_CLASSES.has(id[id.length - 1] ?? "")) {
        this.runs.set(runId, DETACHED);
        return;
      }
      // The first run this handler sees in a tree is the graph's own run (the handler is bound to this graph).
      const root: RootRun = { kind: ROOT, runId, start: now(), exemplar: undefined, interrupted: false, failedTasks: undefined };
      if (this.core.exemplars) root.exemplar = this.exemplar(undefined);
      this.runs.set(runId, root);
      this.core.graphsInFlight.inc(this.inFlight);
      return;
    }
    const nodeName = metadata?.langgraph_node;
    if (typeof nodeName === "string" && runName === nodeName && hasStepTag(tags)) {
      const tree = parent.kind === ROOT ? parent : parent.root;
      const root = tree === DETACHED ? undefined : tree;
      const task = metadata?.langgraph_checkpoint_ns;
      const run: NodeRun = {
        kind: NODE,
        runId,
        start: now(),
        root,
        series: this.nodeSeries(nodeName),
        task: typeof task === "string" ? task : undefined,
        parentNode: parent.kind === NODE ? parent : undefined,
        childInterrupted: false,
      };
      if (run.task !== undefined && root?.failedTasks?.has(run.task) === true) this.core.nodeRetries.inc(run.series.retryPolicy);
      this.runs.set(runId, run);
      return;
    }
    // Internal runs (hidden __start__, edge lambdas, subgraph roots) stand for their parent, so children link up.
    this.runs.set(runId, parent);
  }

  override handleChainEnd(_outputs: unknown, runId: string): void {
    const run = this.runs.get(runId);
    if (run === undefined) return;
    this.runs.delete(runId);
    if (run.runId !== runId) return;
    if (run.kind === ROOT) this.finishRoot(run, run.interrupted ? "interrupted" : "success");
    else if (run.kind === NODE) this.finishNode(run, "success");
  }

  override handleChainError(error: unknown, runId: string): void {
    const run = this.runs.get(runId);
    if (run === undefined) return;
    this.runs.delete(runId);
    if (run.runId !== runId) return;
    if (run.kind === ROOT) {
      this.finishRoot(run, isGraphInterrupt(error) ? "interrupted" : isAbort(error) ? "cancelled" : "error");
    } else if (run.kind === NODE) {
      if (isGraphInterrupt(error)) {
        if (!run.childInterrupted) this.core.interrupts.inc(run.series.node);
        if (run.parentNode !== undefined) run.parentNode.childInterrupted = true;
        if (run.root !== undefined) run.root.interrupted = true;
        this.finishNode(run, "interrupted");
      } else if (isGraphBubbleUp(error)) {
        // ParentCommand and friends are control flow: the node did its job.
        this.finishNode(run, "success");
      } else if (isAbort(error)) {
        this.finishNode(run, "cancelled");
      } else {
        const root = run.root;
        if (root !== undefined && run.task !== undefined) {
          if (root.failedTasks === undefined) root.failedTasks = new Set();
          root.failedTasks.add(run.task);
        }
        this.finishNode(run, "error");
      }
    }
  }

  /** Called by LangGraph (>= 1.7) when the root graph pauses, including static `interruptBefore`/`interruptAfter`. */
  handleInterrupt(event: { runId?: string | undefined }): void {
    const run = event.runId === undefined ? undefined : this.runs.get(event.runId);
    if (run?.kind === ROOT) run.interrupted = true;
  }

  /** @internal Called by `instrument()` when a stream is cancelled before its run ended (no callback follows then). */
  handleAbandonedRun(runId: string): void {
    const run = this.runs.get(runId);
    if (run === undefined || run.kind !== ROOT || run.runId !== runId) return;
    this.runs.delete(runId);
    this.finishRoot(run, "cancelled");
  }

  private finishRoot(run: RootRun, status: GraphRunStatus): void {
    const labels = this.graphLabels[status];
    this.core.graphsInFlight.dec(this.inFlight);
    this.core.graphRuns.inc(labels);
    observe(this.core, this.core.graphDuration, labels, (now() - run.start) / 1000, this.exemplar(run));
  }

  private finishNode(run: NodeRun, status: NodeStatus): void {
    const labels = run.series.status[status];
    this.core.nodeExecutions.inc(labels);
    observe(this.core, this.core.nodeDuration, labels, (now() - run.start) / 1000, this.exemplar(run.root));
  }

  /** LangChain calls this as (tool, input, runId, parentRunId, tags, metadata, runName, toolCallId). */
  override handleToolStart(
    tool: Serialized,
    _input: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    _metadata?: Metadata,
    runName?: string,
  ): void {
    const name = this.core.guards.value("tool", runName ?? tool?.id?.at(-1) ?? "unknown");
    let series = this.tools.get(name);
    if (series === undefined) {
      const graph = this.graph;
      series = {
        success: { graph, tool: name, status: "success" },
        error: { graph, tool: name, status: "error" },
        interrupted: { graph, tool: name, status: "interrupted" },
      };
      this.tools.set(name, series);
    }
    this.runs.set(runId, { kind: TOOL, runId, start: now(), root: this.rootOf(parentRunId), series });
  }

  override handleToolEnd(_output: unknown, runId: string): void {
    this.finishTool(runId, "success");
  }

  override handleToolError(error: unknown, runId: string): void {
    this.finishTool(runId, isGraphInterrupt(error) ? "interrupted" : isGraphBubbleUp(error) ? "success" : "error");
  }

  private finishTool(runId: string, status: ToolStatus): void {
    const run = this.runs.get(runId);
    if (run?.kind !== TOOL || run.runId !== runId) return;
    this.runs.delete(runId);
    const labels = run.series[status];
    this.core.toolCalls.inc(labels);
    observe(this.core, this.core.toolDuration, labels, (now() - run.start) / 1000, this.exemplar(run.root));
  }

  /** LangChain calls this as (llm, messages, runId, parentRunId, extraParams, tags, metadata, runName). */
  override handleChatModelStart(
    llm: Serialized,
    _messages: unknown,
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Metadata,
  ): void {
    this.startLlm("chat", llm, runId, parentRunId, extraParams, metadata);
  }

  override handleLLMStart(
    llm: Serialized,
    _prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Metadata,
  ): void {
    this.startLlm("text_completion", llm, runId, parentRunId, extraParams, metadata);
  }

  private startLlm(
    operation: string,
    llm: Serialized,
    runId: string,
    parentRunId: string | undefined,
    extraParams: Record<string, unknown> | undefined,
    metadata: Metadata,
  ): void {
    const rawProvider = metadata?.ls_provider;
    const guards = this.core.guards;
    const provider = guards.value("gen_ai_provider_name", typeof rawProvider === "string" ? rawProvider : (llm?.id?.at(-1) ?? "unknown"));
    const model = guards.value("gen_ai_request_model", modelOf(extraParams, metadata));
    const key = operation === "chat" ? provider : `${operation}:${provider}`;
    let byModel = this.llms.get(key);
    if (byModel === undefined) {
      byModel = new Map();
      this.llms.set(key, byModel);
    }
    let series = byModel.get(model);
    if (series === undefined) {
      const base = { gen_ai_operation_name: operation, gen_ai_provider_name: provider, gen_ai_request_model: model };
      series = {
        base,
        ok: { ...base, error_type: "" },
        input: { ...base, gen_ai_token_type: "input" },
        output: { ...base, gen_ai_token_type: "output" },
      };
      byModel.set(model, series);
    }
    this.runs.set(runId, { kind: LLM, runId, start: now(), root: this.rootOf(parentRunId), series });
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    const run = this.takeLlm(runId);
    if (run === undefined) return;
    const exemplar = this.exemplar(run.root);
    observe(this.core, this.core.genAiDuration, run.series.ok, (now() - run.start) / 1000, exemplar);
    const usage = tokenUsage(output);
    if (usage.input !== undefined) observe(this.core, this.core.genAiTokens, run.series.input, usage.input, exemplar);
    if (usage.output !== undefined) observe(this.core, this.core.genAiTokens, run.series.output, usage.output, exemplar);
  }

  override handleLLMError(error: unknown, runId: string): void {
    const run = this.takeLlm(runId);
    if (run === undefined) return;
    // Failures are rare enough to build their labels per call.
    const labels = { ...run.series.base, error_type: this.core.guards.value("error_type", errorType(error)) };
    observe(this.core, this.core.genAiDuration, labels, (now() - run.start) / 1000, this.exemplar(run.root));
  }

  private takeLlm(runId: string): LlmRun | undefined {
    const run = this.runs.get(runId);
    if (run?.kind !== LLM || run.runId !== runId) return undefined;
    this.runs.delete(runId);
    return run;
  }
}
