/**
 * The catalogue of series: every metric the kit exports, with its name, help, type, labels, the values a bounded
 * label may take, and its buckets. `createMetrics` declares its series from it; the mixin (dashboards, rules,
 * promtool scenarios), the README's metric tables and the tests read it, so a series, a label or a label value that
 * is not here can be neither emitted nor queried.
 */
import { ERROR_REASONS } from "../core/reasons.js";
import { THREAD_LOCK_OUTCOMES, THREAD_STRATEGIES } from "../core/events.js";
import { PRICE_TOKEN_TYPES } from "./prices.js";

/** Final status of a graph run. */
export const GRAPH_RUN_STATUSES = ["success", "error", "interrupted", "cancelled"] as const;
/** Status of a node execution (`cancelled`: aborted because its run was cancelled or a sibling failed). */
export const NODE_STATUSES = GRAPH_RUN_STATUSES;
/** Status of a tool call. */
export const TOOL_STATUSES = ["success", "error", "interrupted", "cancelled"] as const;
/** Status of a checkpointer operation. */
export const CHECKPOINT_STATUSES = ["success", "error"] as const;
/** `operation` of a checkpointer series; `pool` counts errors the connection pool reports outside any operation. */
export const CHECKPOINT_OPERATIONS = ["get", "put", "put_writes", "list", "pool"] as const;
/** Reasons of a retry: the classification reasons, plus `retry_policy` for a LangGraph `RetryPolicy` re-run. */
export const RETRY_REASONS = [...ERROR_REASONS, "retry_policy"] as const;
/** States of a circuit breaker. */
export const BREAKER_STATES = ["closed", "open", "half_open"] as const;
/** Results of an idempotency lookup. */
export const IDEMPOTENCY_RESULTS = ["hit", "miss", "conflict"] as const;
/** `gen_ai_token_type` of the token histogram. */
export const TOKEN_TYPES = ["input", "output"] as const;
/** `gen_ai_token_type` of the cost series: the billed types of a price (disjoint, see the billing rule in cost.ts). */
export const COST_TOKEN_TYPES = PRICE_TOKEN_TYPES;
/** What a rate limiter's availability gauge counts. */
export const RATE_LIMIT_RESOURCES = ["requests", "tokens"] as const;
/** Bucket boundaries (seconds) of `langgraph_rate_limit_wait_seconds` (0 = went at once, in the first bucket). */
export const RATE_LIMIT_WAIT_BUCKETS: readonly number[] = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Results of a batch of spans handed to a trace exporter. */
export const EXPORT_RESULTS = ["success", "failure"] as const;

/** Bucket boundaries (seconds) of the graph, node and tool duration histograms. */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Bucket boundaries (seconds) of `langgraph_checkpoint_operation_duration_seconds`. */
export const CHECKPOINT_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Bucket boundaries (bytes) of `langgraph_checkpoint_size_bytes`. */
export const CHECKPOINT_SIZE_BUCKETS: readonly number[] = [256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216];
/** Bucket boundaries (seconds) of `langgraph_thread_lock_wait_seconds`. */
export const THREAD_LOCK_WAIT_BUCKETS: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** OpenTelemetry GenAI (v1.45) bucket boundaries of `gen_ai.client.operation.duration`, in seconds. */
export const GEN_AI_DURATION_BUCKETS: readonly number[] = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** OpenTelemetry GenAI (v1.45) bucket boundaries of `gen_ai.client.token.usage`. */
export const GEN_AI_TOKEN_BUCKETS: readonly number[] = [
  1, 4, 16, 64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
];

/**
 * Bucket boundaries (USD) of `langgraph_llm_run_cost_usd`: a tenth of a cent to ten dollars, about 2.5x apart, so
 * p50 and p95 of a run's cost are read to within a bucket from a cheap chat turn to a long agent run.
 */
export const RUN_COST_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** A label whose values are names chosen by the user (graph, node, model…): bounded by the label guards, not here. */
export const OPEN = null;

/** One series of the catalogue. */
export interface SeriesSpec {
  /** Name after the prefix (`langgraph_` by default), or the full name when {@link SeriesSpec.prefixed} is false. */
  readonly name: string;
  /** False for the `gen_ai_*` series, which keep their semantic-convention names whatever the prefix. */
  readonly prefixed: boolean;
  readonly type: "counter" | "gauge" | "histogram";
  readonly help: string;
  /** Label names in order, each with its allowed values ({@link OPEN} for user-chosen names). */
  readonly labels: Readonly<Record<string, readonly string[] | null>>;
  readonly buckets?: readonly number[];
  /** The README's "meaning" column. */
  readonly doc: string;
  /** The README's example query. */
  readonly example: string;
}

const graphNode = { graph: OPEN, node: OPEN } as const;
const genAi = { gen_ai_operation_name: OPEN, gen_ai_provider_name: OPEN, gen_ai_request_model: OPEN } as const;

/** Every series, keyed by the name the code uses for it. The order is the README's. */
export const SERIES = {
  graphRuns: {
    name: "graph_runs_total",
    prefixed: true,
    type: "counter",
    help: "Graph runs, by final status (success, error, interrupted, cancelled).",
    labels: { graph: OPEN, status: GRAPH_RUN_STATUSES },
    doc: "finished graph runs; status `success`, `error`, `interrupted` (human-in-the-loop pause, also static `interruptBefore`), `cancelled` (AbortSignal, abandoned stream)",
    example:
      'sum by (graph) (rate(langgraph_graph_runs_total{status="error"}[5m])) / sum by (graph) (rate(langgraph_graph_runs_total[5m]))',
  },
  graphDuration: {
    name: "graph_run_duration_seconds",
    prefixed: true,
    type: "histogram",
    help: "Duration of graph runs.",
    labels: { graph: OPEN, status: GRAPH_RUN_STATUSES },
    buckets: DURATION_BUCKETS,
    doc: "run duration",
    example: "histogram_quantile(0.95, sum by (graph, le) (rate(langgraph_graph_run_duration_seconds_bucket[5m])))",
  },
  graphsInFlight: {
    name: "graph_runs_in_flight",
    prefixed: true,
    type: "gauge",
    help: "Graph runs started and not yet finished.",
    labels: { graph: OPEN },
    doc: "runs started and not finished (exists at 0 from `instrument()` on)",
    example: "sum by (graph) (langgraph_graph_runs_in_flight)",
  },
  nodeExecutions: {
    name: "node_executions_total",
    prefixed: true,
    type: "counter",
    help: "Node executions (each LangGraph RetryPolicy attempt counts), by status.",
    labels: { ...graphNode, status: NODE_STATUSES },
    doc: "node runs, one per LangGraph `RetryPolicy` attempt; `withRetry` attempts inside one run are not extra executions. Status `success`, `error`, `interrupted`, and `cancelled` for a node aborted because its run was cancelled or a sibling failed",
    example: 'sum by (node) (rate(langgraph_node_executions_total{graph="support-agent",status="error"}[5m]))',
  },
  nodeDuration: {
    name: "node_duration_seconds",
    prefixed: true,
    type: "histogram",
    help: "Duration of node executions.",
    labels: { ...graphNode, status: NODE_STATUSES },
    buckets: DURATION_BUCKETS,
    doc: "node run duration",
    example: "histogram_quantile(0.99, sum by (node, le) (rate(langgraph_node_duration_seconds_bucket[5m])))",
  },
  nodeRetries: {
    name: "node_retries_total",
    prefixed: true,
    type: "counter",
    help: "Retries of a node: withRetry attempts after a failure and LangGraph RetryPolicy re-runs.",
    labels: { ...graphNode, reason: RETRY_REASONS },
    doc: '`withRetry` retries (reason from `classifyError`: `rate_limited`, `server_error`, `timeout`…) and LangGraph `RetryPolicy` re-runs (`reason="retry_policy"`)',
    example: "sum by (node, reason) (rate(langgraph_node_retries_total[5m]))",
  },
  retriesExhausted: {
    name: "node_retries_exhausted_total",
    prefixed: true,
    type: "counter",
    help: "withRetry gave up on a node call.",
    labels: graphNode,
    doc: "`withRetry` gave up",
    example: "increase(langgraph_node_retries_exhausted_total[1h]) > 0",
  },
  nodeTimeouts: {
    name: "node_timeouts_total",
    prefixed: true,
    type: "counter",
    help: "Node attempts that passed their withTimeout deadline.",
    labels: graphNode,
    doc: "`withTimeout` deadlines hit",
    example: "rate(langgraph_node_timeouts_total[5m])",
  },
  fallbacks: {
    name: "node_fallbacks_total",
    prefixed: true,
    type: "counter",
    help: "Failed node calls whose update came from a fallback.",
    labels: graphNode,
    doc: "updates supplied by `withFallback`",
    example: "rate(langgraph_node_fallbacks_total[5m])",
  },
  bulkheadRejections: {
    name: "bulkhead_rejections_total",
    prefixed: true,
    type: "counter",
    help: "Node calls rejected by a full bulkhead.",
    labels: graphNode,
    doc: "calls rejected by a full `withBulkhead`",
    example: "rate(langgraph_bulkhead_rejections_total[5m]) > 0",
  },
  breakerState: {
    name: "circuit_breaker_state",
    prefixed: true,
    type: "gauge",
    help: "Circuit breaker state, one-hot: 1 for the current state, 0 for the other two.",
    labels: { breaker: OPEN, state: BREAKER_STATES },
    doc: "one-hot: 1 for the current state (`closed`, `open`, `half_open`), 0 for the others, from the breaker's creation on",
    example: 'max by (breaker) (langgraph_circuit_breaker_state{state="open"}) == 1',
  },
  breakerFleetState: {
    name: "circuit_breaker_fleet_state",
    prefixed: true,
    type: "gauge",
    help: "Pooled state of a circuit breaker with a shared store, as this replica last read it, one-hot; all 0 while the store is unreachable and the replica acts on its local state.",
    labels: { breaker: OPEN, state: BREAKER_STATES },
    doc: "the fleet's pooled state of a breaker with a shared store (`RedisBreakerStore`), one-hot as this replica last read it; all 0 while the store is unreachable (the replica then acts on its local window, which `circuit_breaker_state` shows)",
    example: 'max by (breaker) (langgraph_circuit_breaker_fleet_state{state="open"}) == 1',
  },
  breakerTransitions: {
    name: "circuit_breaker_transitions_total",
    prefixed: true,
    type: "counter",
    help: "Circuit breaker state transitions, by target state.",
    labels: { breaker: OPEN, to: BREAKER_STATES },
    doc: "state transitions (exist at 0 for live breakers)",
    example: 'increase(langgraph_circuit_breaker_transitions_total{to="open"}[15m])',
  },
  breakerRejections: {
    name: "circuit_breaker_rejections_total",
    prefixed: true,
    type: "counter",
    help: "Calls rejected at once by an open circuit breaker.",
    labels: { breaker: OPEN },
    doc: "calls rejected at once by an open breaker",
    example: "rate(langgraph_circuit_breaker_rejections_total[5m])",
  },
  idempotencyRequests: {
    name: "idempotency_requests_total",
    prefixed: true,
    type: "counter",
    help: "Idempotency lookups, by result (hit, miss, conflict).",
    labels: { ...graphNode, result: IDEMPOTENCY_RESULTS },
    doc: "idempotency lookups: `hit` (replayed), `miss`, `conflict`",
    example: 'sum(rate(langgraph_idempotency_requests_total{result="hit"}[1h]))',
  },
  interrupts: {
    name: "interrupts_total",
    prefixed: true,
    type: "counter",
    help: "Human-in-the-loop interrupts raised by nodes.",
    labels: graphNode,
    doc: "`interrupt()` calls that paused a run (counted once, at the innermost node)",
    example: "sum by (node) (increase(langgraph_interrupts_total[1d]))",
  },
  toolCalls: {
    name: "tool_calls_total",
    prefixed: true,
    type: "counter",
    help: "Tool calls, by status.",
    labels: { graph: OPEN, tool: OPEN, status: TOOL_STATUSES },
    doc: "tool calls, `success`, `error`, `interrupted` or `cancelled` (aborted)",
    example: 'sum by (tool) (rate(langgraph_tool_calls_total{status="error"}[5m]))',
  },
  toolDuration: {
    name: "tool_duration_seconds",
    prefixed: true,
    type: "histogram",
    help: "Duration of tool calls.",
    labels: { graph: OPEN, tool: OPEN, status: TOOL_STATUSES },
    buckets: DURATION_BUCKETS,
    doc: "tool call duration",
    example: "histogram_quantile(0.95, sum by (tool, le) (rate(langgraph_tool_duration_seconds_bucket[5m])))",
  },
  checkpointDuration: {
    name: "checkpoint_operation_duration_seconds",
    prefixed: true,
    type: "histogram",
    help: "Duration of checkpointer operations (get, put, put_writes, list).",
    labels: { saver: OPEN, operation: CHECKPOINT_OPERATIONS, status: CHECKPOINT_STATUSES },
    buckets: CHECKPOINT_DURATION_BUCKETS,
    doc: "checkpointer `get`, `put`, `put_writes`, `list` (from `instrumentCheckpointer`)",
    example: "histogram_quantile(0.99, sum by (operation, le) (rate(langgraph_checkpoint_operation_duration_seconds_bucket[5m])))",
  },
  checkpointSize: {
    name: "checkpoint_size_bytes",
    prefixed: true,
    type: "histogram",
    help: "Serialized size of saved checkpoints.",
    labels: { saver: OPEN },
    buckets: CHECKPOINT_SIZE_BUCKETS,
    doc: "serialized size of saved checkpoints",
    example: "rate(langgraph_checkpoint_size_bytes_sum[5m]) / rate(langgraph_checkpoint_size_bytes_count[5m])",
  },
  genAiDuration: {
    name: "gen_ai_client_operation_duration_seconds",
    prefixed: false,
    type: "histogram",
    help: "GenAI operation duration (OpenTelemetry gen_ai.client.operation.duration).",
    labels: { ...genAi, error_type: OPEN },
    buckets: GEN_AI_DURATION_BUCKETS,
    doc: "LLM call duration (OpenTelemetry GenAI v1.45 buckets); `error_type` is empty on success, on failure the error's class name (as `error.type` on the span), `cancelled` for an aborted call",
    example: "histogram_quantile(0.95, sum by (gen_ai_request_model, le) (rate(gen_ai_client_operation_duration_seconds_bucket[5m])))",
  },
  genAiTokens: {
    name: "gen_ai_client_token_usage",
    prefixed: false,
    type: "histogram",
    help: "Tokens used per GenAI operation (OpenTelemetry gen_ai.client.token.usage).",
    labels: { ...genAi, gen_ai_token_type: TOKEN_TYPES },
    buckets: GEN_AI_TOKEN_BUCKETS,
    doc: "tokens per LLM call, `input`/`output`, from `usage_metadata` summed over the result's generations (falling back to the provider's `llmOutput`); `gen_ai_provider_name` is the GenAI well-known name (`aws.bedrock`, `gcp.vertex_ai`…) as on spans",
    example: "sum by (gen_ai_request_model, gen_ai_token_type) (rate(gen_ai_client_token_usage_sum[1h]))",
  },
  genAiTimeToFirstChunk: {
    name: "gen_ai_client_operation_time_to_first_chunk_seconds",
    prefixed: false,
    type: "histogram",
    help: "Time to the first output chunk of a streamed GenAI operation (OpenTelemetry gen_ai.client.operation.time_to_first_chunk).",
    labels: genAi,
    // OpenTelemetry GenAI (v1.45): "Time to receive the first chunk, measured from when the client issues the
    // generation request to when the first chunk is received"; reported for streaming calls only. Same bucket advice
    // as gen_ai.client.operation.duration.
    buckets: GEN_AI_DURATION_BUCKETS,
    doc: 'streamed LLM calls only (`streamMode: "messages"`, `.stream()`, `streamEvents`): time from the call\'s start to its first chunk carrying text or a tool-call fragment; never recorded for a call that did not stream',
    example:
      "histogram_quantile(0.95, sum by (gen_ai_request_model, le) (rate(gen_ai_client_operation_time_to_first_chunk_seconds_bucket[5m])))",
  },
  genAiTimePerOutputChunk: {
    name: "gen_ai_client_operation_time_per_output_chunk_seconds",
    prefixed: false,
    type: "histogram",
    help: "Time between consecutive output chunks of a streamed GenAI operation (OpenTelemetry gen_ai.client.operation.time_per_output_chunk).",
    labels: genAi,
    // OpenTelemetry GenAI (v1.45): "recorded for each chunk received after the first one, measured as the time
    // elapsed from the end of the previous chunk to the end of the current chunk"; streaming calls only.
    buckets: GEN_AI_DURATION_BUCKETS,
    doc: "streamed LLM calls only: one observation per output chunk after the first, the time since the previous one",
    example:
      "histogram_quantile(0.5, sum by (gen_ai_request_model, le) (rate(gen_ai_client_operation_time_per_output_chunk_seconds_bucket[5m])))",
  },
  llmCost: {
    name: "llm_cost_usd_total",
    prefixed: true,
    type: "counter",
    help: "USD spent on LLM tokens, priced by createMetrics({ prices }), by billed token type.",
    labels: { graph: OPEN, gen_ai_provider_name: OPEN, gen_ai_request_model: OPEN, gen_ai_token_type: COST_TOKEN_TYPES },
    doc: "cost of LLM tokens at the prices given to `createMetrics({ prices })` (the kit ships none), by billed type `input` (uncached), `cached_input`, `cache_write`, `output`, `reasoning` (only where the price has a reasoning rate); priced on the response model, else the request model",
    example: "sum by (graph, gen_ai_request_model) (increase(langgraph_llm_cost_usd_total[1h]))",
  },
  llmUnpricedTokens: {
    name: "llm_unpriced_tokens_total",
    prefixed: true,
    type: "counter",
    help: "LLM tokens with no price in createMetrics({ prices }) (never costed at 0), by billed token type.",
    labels: { graph: OPEN, gen_ai_provider_name: OPEN, gen_ai_request_model: OPEN, gen_ai_token_type: COST_TOKEN_TYPES },
    doc: "tokens of models with no price, or of a token type the model's price leaves out: the cost series do not include them",
    example: "sum by (gen_ai_request_model, gen_ai_token_type) (increase(langgraph_llm_unpriced_tokens_total[1h])) > 0",
  },
  llmRunCost: {
    name: "llm_run_cost_usd",
    prefixed: true,
    type: "histogram",
    help: "LLM cost of one graph run, for runs whose tokens were all priced.",
    labels: { graph: OPEN },
    buckets: RUN_COST_BUCKETS,
    doc: "cost per graph run (sum of its LLM calls), observed when a run that made priced LLM calls ends, unless some of its tokens were unpriced (its cost is then unknown)",
    example: "histogram_quantile(0.95, sum by (graph, le) (rate(langgraph_llm_run_cost_usd_bucket[1h])))",
  },
  traceExportSpans: {
    name: "trace_export_spans_total",
    prefixed: true,
    type: "counter",
    help: "Spans handed to a trace exporter, by exporter and result (success, failure).",
    labels: { exporter: OPEN, result: EXPORT_RESULTS },
    doc: "spans handed to a trace exporter wrapped by `reportExports` (the OTLP and Langfuse exporters of `startTelemetry` are), `success` or `failure` (destination down, 5xx, timeout, after the exporter's own retries); both exist at 0 from the exporter's creation on",
    example:
      'sum by (exporter) (rate(langgraph_trace_export_spans_total{result="failure"}[5m])) / sum by (exporter) (rate(langgraph_trace_export_spans_total[5m]))',
  },
  threadLocks: {
    name: "thread_lock_total",
    prefixed: true,
    type: "counter",
    help: "Claims of a thread by guardThreads runs, by strategy and outcome (acquired, rejected, waited, interrupted, taken_over).",
    labels: { graph: OPEN, strategy: THREAD_STRATEGIES, outcome: THREAD_LOCK_OUTCOMES },
    doc: "claims of a thread by `guardThreads` runs: `acquired`, `waited`, `taken_over` (a dead holder's lease had expired), `rejected` (busy, or waited past `waitMs`), `interrupted` (cancel sent to the running run)",
    example: 'sum by (graph) (rate(langgraph_thread_lock_total{outcome="rejected"}[5m]))',
  },
  threadLockWait: {
    name: "thread_lock_wait_seconds",
    prefixed: true,
    type: "histogram",
    help: "Time guardThreads runs waited for their thread before running.",
    labels: { graph: OPEN, strategy: THREAD_STRATEGIES },
    buckets: THREAD_LOCK_WAIT_BUCKETS,
    doc: "how long `enqueue` and `interrupt` runs waited for their thread",
    example: "histogram_quantile(0.95, sum by (graph, le) (rate(langgraph_thread_lock_wait_seconds_bucket[5m])))",
  },
  rateLimitWait: {
    name: "rate_limit_wait_seconds",
    prefixed: true,
    type: "histogram",
    help: "Time calls waited for a rate limiter's capacity (0 when they went at once).",
    labels: { limiter: OPEN },
    buckets: RATE_LIMIT_WAIT_BUCKETS,
    doc: "how long each call granted by a rate limiter waited for its place (every grant is observed, at once = 0)",
    example: "histogram_quantile(0.95, sum by (limiter, le) (rate(langgraph_rate_limit_wait_seconds_bucket[5m])))",
  },
  rateLimitRejections: {
    name: "rate_limit_rejections_total",
    prefixed: true,
    type: "counter",
    help: "Calls refused by a rate limiter (RateLimitedError): no capacity within their wait budget.",
    labels: { limiter: OPEN },
    doc: "calls a rate limiter refused with `RateLimitedError` because their place was further away than `maxWaitMs` (or the retry budget); exists at 0 from the limiter's creation on",
    example: "sum by (limiter) (rate(langgraph_rate_limit_rejections_total[5m])) > 0",
  },
  rateLimitAvailable: {
    name: "rate_limit_available",
    prefixed: true,
    type: "gauge",
    help: "Requests or tokens a rate limiter could let through at once (as of the scrape, or the shared store's last answer).",
    labels: { limiter: OPEN, resource: RATE_LIMIT_RESOURCES },
    doc: 'requests (`resource="requests"`) or tokens a limiter could grant at once; 0 while callers queue. Local state at scrape time; with `RedisRateLimitStore`, the store\'s last answer to this process',
    example: 'min by (limiter) (langgraph_rate_limit_available{resource="requests"})',
  },
  storeErrors: {
    name: "resilience_store_errors_total",
    prefixed: true,
    type: "counter",
    help: "Failed operations of a shared resilience store (Redis), by store and operation; the policy fell back to local state.",
    labels: { store: OPEN, operation: OPEN },
    doc: "operations of a shared store (`RedisRateLimitStore`, `RedisBreakerStore`, `RedisSemaphoreStore`) that failed or passed their deadline; each time the policy carried on with its local state and the run did not fail",
    example: "sum by (store, operation) (rate(langgraph_resilience_store_errors_total[5m]))",
  },
} as const satisfies Record<string, SeriesSpec>;

/** Key of a series in {@link SERIES}. */
export type SeriesKey = keyof typeof SERIES;
/** Label names of series `K`. */
export type LabelOf<K extends SeriesKey> = keyof (typeof SERIES)[K]["labels"] & string;
/** The values label `L` of series `K` may take: the catalogue's list, or any string for an {@link OPEN} label. */
export type LabelValue<K extends SeriesKey, L extends LabelOf<K>> = (typeof SERIES)[K]["labels"][L] extends readonly (infer V)[]
  ? V
  : string;
/** A full label set of series `K`, each value checked against the catalogue at compile time. */
export type LabelSet<K extends SeriesKey> = { [L in LabelOf<K>]: LabelValue<K, L> };

/** The kit's default prefix of the `langgraph_*` series. */
export const DEFAULT_PREFIX = "langgraph_";

/** Full name of series `key` under `prefix` (the `gen_ai_*` series ignore it). */
export function seriesName(key: SeriesKey, prefix: string = DEFAULT_PREFIX): string {
  const spec: SeriesSpec = SERIES[key];
  return spec.prefixed ? `${prefix}${spec.name}` : spec.name;
}

/** Label names of series `key`, in order. */
export function labelNames<K extends SeriesKey>(key: K): LabelOf<K>[] {
  return Object.keys(SERIES[key].labels) as LabelOf<K>[];
}

/**
 * `value`, checked against the catalogue: a TypeError when label `label` of series `key` does not allow it (the
 * type already refuses a literal that is not in the list; this also catches values computed at run time).
 */
export function labelValue<K extends SeriesKey, L extends LabelOf<K>>(key: K, label: L, value: LabelValue<K, L>): LabelValue<K, L> {
  const allowed = (SERIES[key].labels as Record<string, readonly string[] | null>)[label];
  if (allowed === undefined) throw new TypeError(`series ${key} has no label ${label}`);
  if (allowed !== null && !allowed.includes(value as string)) {
    throw new TypeError(`${label} of ${seriesName(key)} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value;
}
