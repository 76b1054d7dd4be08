/**
 * The alert rules, each with its runbook entry. Ratio alerts read the recording rules and carry a
 * minimum-traffic guard (`minEvents` in the alert's window) so a handful of failures on an idle graph does not page.
 */
import { is, metric, oneOf } from "../catalogue.js";
import { type AlertKey, type MixinConfig, durationSeconds } from "../config.js";
import { num, percent, selector } from "../promql.js";
import { RECORDED } from "./recording.js";
import { SLO_NAME, sliErrorRatio, sliEventsRate } from "./slo.js";
import type { AlertingRule, RuleGroup, Severity } from "./types.js";

/** Runbook text of one alert. */
export interface RunbookEntry {
  /** What the alert means. */
  meaning: string;
  /** What users of the agent experience. */
  impact: string;
  /** Where to look, in order. */
  diagnosis: string[];
  /** What usually fixes it. */
  mitigation: string[];
}

/** One alert as the generator knows it: the rule plus its runbook entry. */
export interface AlertDefinition {
  /** Config key of its `for:`; absent for alerts that fire at once. */
  key?: AlertKey;
  rule: AlertingRule;
  runbook: RunbookEntry;
}

/** `alert-name-<lowercased name>`, the runbook anchor of an alert (monitoring-mixin convention). */
export function runbookAnchor(alertName: string): string {
  return `alert-name-${alertName.toLowerCase()}`;
}

/** A duration in words for descriptions: 50h → "2.1 days". */
function spell(seconds: number): string {
  if (seconds >= 86_400) return `${num(Math.round((seconds / 86_400) * 10) / 10)} days`;
  return `${num(Math.round((seconds / 3600) * 10) / 10)} hours`;
}

interface Draft {
  key?: AlertKey;
  alert: string;
  severity: Severity;
  expr: string;
  labels?: Record<string, string>;
  summary: string;
  description: string;
  runbook: RunbookEntry;
}

/** Burn-rate windows of the multiwindow, multi-burn-rate alerts (SRE workbook, 30-day budget). */
export const BURN_WINDOWS = [
  { key: "burn1h", long: "1h", short: "5m", factor: 14.4, severity: "critical" },
  { key: "burn6h", long: "6h", short: "30m", factor: 6, severity: "critical" },
  { key: "burn1d", long: "1d", short: "2h", factor: 3, severity: "warning" },
  { key: "burn3d", long: "3d", short: "6h", factor: 1, severity: "warning" },
] as const satisfies ReadonlyArray<{ key: AlertKey; long: string; short: string; factor: number; severity: Severity }>;

const burnRunbook: RunbookEntry = {
  meaning:
    "Graph runs fail fast enough to spend the availability SLO's error budget early: over both a long and a short window the share of failed runs is a multiple (the burn rate) of what the SLO allows. The `long`/`short` labels name the windows; 1h/5m and 6h/30m page, 1d/2h and 3d/6h make a ticket.",
  impact: "Users see failed agent runs. At 14.4x the whole period's budget is gone in about two days.",
  diagnosis: [
    "Open the *LangGraph / Checkpoints & SLO* dashboard: SLI per window, burn rate, budget left.",
    "Open *LangGraph / Overview* filtered on the graph: which status grows, since when; deploys at that time.",
    "Open *LangGraph / Nodes & Resilience*: which node fails, retries exhausted, timeouts, open breakers.",
    "Open *LangGraph / LLM & Tools*: provider errors by model, tool errors.",
  ],
  mitigation: [
    "Roll back a bad deploy; switch to a fallback model or provider when one LLM provider is failing.",
    "If a dependency is down, let its circuit breaker fail fast and serve the fallback; raise its `resetTimeout` if it flaps.",
    "When the failures are expected (a known outage), silence the alert with an end time rather than changing the SLO.",
  ],
};

function drafts(config: MixinConfig): Draft[] {
  const t = config.thresholds;
  const s = (...m: string[]) => selector(config, ...m);
  const budget = num(1 - config.sloTarget);
  const guard5m = (on: string, rate: string) => `and on (${on})\nsum by (${on}) (${rate}) * 300 >= ${num(config.minEvents)}`;
  const period = durationSeconds(config.sloPeriod);
  const exhausted = `${metric("retriesExhausted")}${s()}`;
  const burn = BURN_WINDOWS.map((w): Draft => {
    const ratio = (window: string) => `max without (slo_window) (${sliErrorRatio(window)}{slo="${SLO_NAME}"})`;
    const threshold = `(${num(w.factor)} * ${budget})`;
    return {
      key: w.key,
      alert: "LangGraphRunErrorBudgetBurn",
      severity: w.severity,
      labels: { long: w.long, short: w.short },
      expr: [
        `${ratio(w.long)} > ${threshold}`,
        "and on (job, graph)",
        `${ratio(w.short)} > ${threshold}`,
        "and on (job, graph)",
        `max without (slo_window) (${sliEventsRate(w.long)}{slo="${SLO_NAME}"}) * ${durationSeconds(w.long)} >= ${num(config.minEvents)}`,
      ].join("\n"),
      summary: "A LangGraph graph is burning its error budget too fast.",
      description: `Graph {{ $labels.graph }} (job {{ $labels.job }}) failed {{ $value | humanizePercentage }} of its runs over the last ${w.long} and more than ${percent(w.factor * (1 - config.sloTarget))} over the last ${w.short}: ${num(w.factor)}x the error budget of the ${percent(config.sloTarget)} availability SLO, which lasts ${spell(period / w.factor)} at this rate.`,
      runbook: burnRunbook,
    };
  });
  return [
    ...burn,
    {
      key: "highRunErrorRate",
      alert: "LangGraphHighRunErrorRate",
      severity: "warning",
      expr: `${RECORDED.runErrorRatio} > ${num(t.runErrorRatio)}\n${guard5m("job, graph", `${RECORDED.runsRate}{status!="cancelled"}`)}`,
      summary: "A LangGraph graph fails too many runs.",
      description: `{{ $value | humanizePercentage }} of the runs of graph {{ $labels.graph }} (job {{ $labels.job }}) failed over the last 5m (threshold ${percent(t.runErrorRatio)}).`,
      runbook: {
        meaning: `More than ${percent(t.runErrorRatio)} of the graph's runs ended with status \`error\` over 5 minutes, with at least ${config.minEvents} runs in that window.`,
        impact: "Users get errors instead of answers.",
        diagnosis: [
          "*LangGraph / Overview*: runs by status, error ratio by graph.",
          "*LangGraph / Nodes & Resilience*: node error ratio shows which node fails; retries by reason show why.",
          "Application logs (pino JSON) for the failing node, joined to traces by `trace_id`.",
        ],
        mitigation: ["Roll back or fix the failing node; wrap a flaky dependency with `resilient()` (retry, breaker, fallback)."],
      },
    },
    {
      key: "runLatencyHigh",
      alert: "LangGraphRunLatencyHigh",
      severity: "warning",
      expr: `${RECORDED.runDuration}{quantile="0.95"} > ${num(t.runLatencyP95Seconds)}\n${guard5m("job, graph", RECORDED.runsRate)}`,
      summary: "LangGraph graph runs are slow.",
      description: `The p95 run time of graph {{ $labels.graph }} (job {{ $labels.job }}) is {{ $value | humanizeDuration }} (threshold ${num(t.runLatencyP95Seconds)}s).`,
      runbook: {
        meaning: `The 95th percentile of graph run duration over 5 minutes is above ${num(t.runLatencyP95Seconds)} seconds.`,
        impact: "Users wait; callers with their own deadlines may give up and retry, adding load.",
        diagnosis: [
          "*LangGraph / Nodes & Resilience*: node p95 shows the slow node; retries and timeouts add latency.",
          "*LangGraph / LLM & Tools*: LLM latency by model, tokens per run (longer prompts are slower).",
          "*LangGraph / Checkpoints & SLO*: checkpoint latency.",
        ],
        mitigation: [
          "Lower timeouts and retries on the slow node, use a faster model, or raise the threshold if the graph is slow by design.",
        ],
      },
    },
    {
      key: "runsStuck",
      alert: "LangGraphRunsStuck",
      severity: "warning",
      expr: `sum by (job, instance, graph) (${metric("graphsInFlight")}${s()}) > 0\nunless on (job, instance, graph)\nsum by (job, instance, graph) (increase(${metric("graphRuns")}${s()}[30m])) > 0`,
      summary: "LangGraph runs are in flight but none finished for 30 minutes.",
      description:
        "{{ $value }} runs of graph {{ $labels.graph }} are in flight on {{ $labels.instance }} (job {{ $labels.job }}) and no run of that graph finished in the last 30m.",
      runbook: {
        meaning: "The in-flight gauge is above zero while the run counter did not move for 30 minutes on that instance.",
        impact: "Runs hang: a node awaits something that never settles (no timeout), or the event loop is blocked.",
        diagnosis: [
          "Traces of the graph: open root spans without an end, and the node span they are stuck in.",
          "Whether the stuck node has a `timeout`; whether a bulkhead queue is full.",
          "The process's event loop lag and CPU.",
        ],
        mitigation: ["Give every node that calls the network a `timeout`; restart the instance to free the stuck runs."],
      },
    },
    {
      key: "nodeErrorRateHigh",
      alert: "LangGraphNodeErrorRateHigh",
      severity: "warning",
      expr: `${RECORDED.nodeErrorRatio} > ${num(t.nodeErrorRatio)}\n${guard5m("job, graph, node", RECORDED.nodeExecRate)}`,
      summary: "A LangGraph node fails too often.",
      description: `Node {{ $labels.node }} of graph {{ $labels.graph }} (job {{ $labels.job }}) failed {{ $value | humanizePercentage }} of its executions over the last 5m (threshold ${percent(t.nodeErrorRatio)}).`,
      runbook: {
        meaning: `More than ${percent(t.nodeErrorRatio)} of the node's executions ended with status \`error\` over 5 minutes.`,
        impact: "Runs through this node fail unless a fallback or LangGraph retry policy absorbs the errors.",
        diagnosis: [
          "*LangGraph / Nodes & Resilience*: node error ratio, retries by reason, timeouts, breaker state.",
          "Error spans of that node in the traces.",
        ],
        mitigation: ["Fix the dependency the node calls; add `retry`, `circuitBreaker` and `fallback` through `resilient()`."],
      },
    },
    {
      key: "retryRateHigh",
      alert: "LangGraphRetryRateHigh",
      severity: "warning",
      expr: `${RECORDED.retryRatio} > ${num(t.retryRatio)}\n${guard5m("job, graph, node", RECORDED.nodeExecRate)}`,
      summary: "A LangGraph node retries too often.",
      description: `Node {{ $labels.node }} of graph {{ $labels.graph }} (job {{ $labels.job }}) makes {{ $value | printf "%.2f" }} retries per execution over the last 5m (threshold ${num(t.retryRatio)}).`,
      runbook: {
        meaning: `The node retries more than ${num(t.retryRatio)} times per execution: a dependency is failing transiently (rate limits, 5xx, timeouts).`,
        impact: "Higher latency and cost; a retry storm can make an overloaded provider worse.",
        diagnosis: ["*LangGraph / Nodes & Resilience*: retries by `reason` (rate_limited, server_error, timeout, network…)."],
        mitigation: [
          "For `rate_limited`, lower concurrency with a `bulkhead` or raise the provider quota; otherwise let the breaker open sooner.",
        ],
      },
    },
    {
      key: "retriesExhausted",
      alert: "LangGraphRetriesExhausted",
      severity: "warning",
      // A labelled counter appears at 1 on its first increment, which increase() cannot see; `unless offset`
      // catches a series that is new within the window.
      expr: `sum by (job, graph, node) (\n  increase(${exhausted}[15m]) > 0\n  or\n  (${exhausted} unless ${exhausted} offset 15m) > 0\n)`,
      summary: "A LangGraph node gave up after exhausting its retries.",
      description:
        "Node {{ $labels.node }} of graph {{ $labels.graph }} (job {{ $labels.job }}) exhausted its retries and rethrew; failed calls in the last 15m: {{ $value | humanize }}.",
      runbook: {
        meaning: "`withRetry` ran out of attempts or time budget and rethrew the last error.",
        impact: "The node failed despite retries; the run fails unless a fallback handles it.",
        diagnosis: ["*LangGraph / Nodes & Resilience*: retries exhausted and retries by reason.", "The node's error spans and logs."],
        mitigation: ["Fix the dependency; add a `fallback`; raise `retries` or `maxElapsedMs` only if the errors are transient."],
      },
    },
    {
      key: "timeoutRateHigh",
      alert: "LangGraphTimeoutRateHigh",
      severity: "warning",
      expr: `${RECORDED.timeoutRatio} > ${num(t.timeoutRatio)}\n${guard5m("job, graph, node", RECORDED.nodeExecRate)}`,
      summary: "A LangGraph node times out too often.",
      description: `Node {{ $labels.node }} of graph {{ $labels.graph }} (job {{ $labels.job }}) timed out {{ $value | printf "%.2f" }} times per execution over the last 5m (threshold ${num(t.timeoutRatio)}).`,
      runbook: {
        meaning: `Attempts of the node hit their \`timeout\` more than ${num(t.timeoutRatio)} times per execution.`,
        impact: "Slow runs, retries and wasted tokens (a timed-out LLM call is still billed).",
        diagnosis: ["*LangGraph / Nodes & Resilience*: timeouts and node p95.", "*LangGraph / LLM & Tools*: LLM latency by model."],
        mitigation: ["Raise the timeout to above the dependency's p99, or cut the work per call (shorter prompts, smaller pages)."],
      },
    },
    {
      key: "circuitBreakerOpen",
      alert: "LangGraphCircuitBreakerOpen",
      severity: "warning",
      expr: `max by (job, breaker) (${metric("breakerState")}${s(oneOf("breakerState", "state", "open", "half_open"))}) == 1`,
      summary: "A LangGraph circuit breaker is open.",
      description:
        "Circuit breaker {{ $labels.breaker }} (job {{ $labels.job }}) has not been closed on at least one instance for the alert's whole `for:` duration: calls through it fail fast.",
      runbook: {
        meaning:
          "The breaker saw too many failures and rejects calls with `CircuitOpenError`, probing now and then (half-open). The alert counts open and half-open alike, so a breaker whose probes keep failing stays alerting.",
        impact: "Every node behind the breaker fails at once or serves its fallback.",
        diagnosis: [
          "*LangGraph / Nodes & Resilience*: breaker state timeline and rejections.",
          "The protected dependency's status page and the node's errors before the breaker opened.",
        ],
        mitigation: ["Restore the dependency; switch to a fallback provider. The breaker closes by itself after a successful probe."],
      },
    },
    {
      key: "breakerOffFleetState",
      alert: "LangGraphBreakerOffFleetState",
      severity: "warning",
      expr: `max by (job, instance, breaker) (${metric("breakerFleetState")}${s()}) == 0`,
      summary: "A shared LangGraph circuit breaker runs on its local state.",
      description:
        "Circuit breaker {{ $labels.breaker }} on {{ $labels.instance }} (job {{ $labels.job }}) has not read the fleet state from its shared store for the alert's whole `for:` duration: it opens and probes on its own.",
      runbook: {
        meaning:
          "The breaker has a shared store (`RedisBreakerStore`) it cannot reach: every operation fails or passes `operationTimeoutMs`, so the replica acts on its own rolling window. `langgraph_circuit_breaker_fleet_state` is 0 for every state.",
        impact:
          "Nothing fails because of it, but the fleet is back to per-process breakers: an outage costs `volumeThreshold` failing requests per replica, and every replica probes on its own.",
        diagnosis: [
          "*LangGraph / Nodes & Resilience*: *Shared store errors/s* by store and operation, *Instances off the fleet breaker state*.",
          "The warn log lines `store error` of the replica: the driver's error says whether Redis refuses, times out or answers an unknown state version.",
          "Redis itself: reachable from the pod, memory, failover; a replica on another `keyPrefix` or release that writes another state version.",
        ],
        mitigation: [
          "Restore Redis or the network path to it; the breaker reads the fleet state again at its next flush.",
          "Raise `operationTimeoutMs` when Redis is reachable but slow.",
        ],
      },
    },
    {
      key: "rateLimitRejections",
      alert: "LangGraphRateLimitRejections",
      severity: "warning",
      expr: `sum by (job, limiter) (rate(${metric("rateLimitRejections")}${s()}[5m])) > 0`,
      summary: "A LangGraph rate limiter refuses calls.",
      description:
        'Rate limiter {{ $labels.limiter }} (job {{ $labels.job }}) refuses {{ $value | printf "%.2f" }} calls/s with RateLimitedError: demand is above the configured limit for longer than callers may wait.',
      runbook: {
        meaning:
          "Calls wanted more requests or tokens per minute than the limiter allows, and their place in line was further away than `maxWaitMs` (or the retry budget), so they failed fast with `RateLimitedError`.",
        impact: "Model calls behind the limiter fail (or are retried later, or serve their fallback) instead of reaching the provider.",
        diagnosis: [
          "*LangGraph / Nodes & Resilience*: rate-limit rejections and wait p95 by limiter, requests/tokens available, shared store errors.",
          "Whether demand grew (runs/s, tokens per run) or the limit dropped (a provider's 429s block the limiter until their reset).",
          "With `RedisRateLimitStore`: store errors mean replicas decide locally at `localShare` of the limit.",
        ],
        mitigation: [
          "Raise the provider quota and then `requestsPerMinute` / `tokensPerMinute`; shorten prompts; let callers wait longer (`maxWaitMs`); add a fallback model on another key.",
        ],
      },
    },
    {
      alert: "LangGraphCircuitBreakerFlapping",
      severity: "info",
      expr: `sum by (job, breaker) (increase(${metric("breakerTransitions")}${s(is("breakerTransitions", "to", "closed"))}[30m])) > ${num(t.breakerFlapsPer30m)}`,
      summary: "A LangGraph circuit breaker keeps opening and closing.",
      description: `Circuit breaker {{ $labels.breaker }} (job {{ $labels.job }}) recovered {{ $value | humanize }} times in the last 30m (threshold ${num(t.breakerFlapsPer30m)}).`,
      runbook: {
        meaning: "The breaker closes after a good probe and opens again soon after: the dependency fails intermittently.",
        impact: "Bursts of fast failures between periods of normal service.",
        diagnosis: ["*LangGraph / Nodes & Resilience*: breaker state timeline."],
        mitigation: ["Raise `resetTimeout` or `volumeThreshold`, or fix the intermittent dependency."],
      },
    },
    {
      key: "idempotencyConflicts",
      alert: "LangGraphIdempotencyConflicts",
      severity: "info",
      expr: `${RECORDED.idempotencyConflictRatio} > ${num(t.idempotencyConflictRatio)}\n${guard5m("job, graph, node", RECORDED.idempotencyRate)}`,
      summary: "LangGraph idempotency keys often conflict.",
      description: `{{ $value | humanizePercentage }} of the idempotency lookups of node {{ $labels.node }} in graph {{ $labels.graph }} (job {{ $labels.job }}) conflicted with a call still in progress over the last 5m.`,
      runbook: {
        meaning: "Concurrent duplicates of the same node task claim the same key: the same thread is resumed twice at once.",
        impact: "Duplicates wait or fail with `IdempotencyConflictError` instead of repeating the side effect.",
        diagnosis: ["Callers that resume one `thread_id` concurrently (double-submitted forms, client retries without backoff)."],
        mitigation: ["Serialise resumes per thread; raise the store lease if nodes run longer than it."],
      },
    },
    {
      key: "checkpointErrors",
      alert: "LangGraphCheckpointErrors",
      severity: "warning",
      expr: `sum by (job, saver, operation) (${RECORDED.checkpointRate}{${is("checkpointDuration", "status", "error")}}) > 0`,
      summary: "LangGraph checkpoint operations fail.",
      description:
        'Checkpoint {{ $labels.operation }} operations of saver {{ $labels.saver }} (job {{ $labels.job }}) fail at {{ $value | printf "%.2f" }}/s.',
      runbook: {
        meaning: "The checkpointer's `get`, `put`, `put_writes` or `list` throws.",
        impact: "Runs fail or cannot resume; interrupts and crash recovery depend on checkpoints.",
        diagnosis: ["*LangGraph / Checkpoints & SLO*: errors by saver and operation.", "The database's health, connections and disk."],
        mitigation: ["Restore the database; raise the connection pool; check migrations of the checkpoint tables."],
      },
    },
    {
      key: "checkpointLatencyHigh",
      alert: "LangGraphCheckpointLatencyHigh",
      severity: "warning",
      expr: `${RECORDED.checkpointDuration}{operation="put", quantile="0.99"} > ${num(t.checkpointPutP99Seconds)}\n${guard5m("job, saver, operation", RECORDED.checkpointRate)}`,
      summary: "LangGraph checkpoint writes are slow.",
      description: `The p99 of checkpoint put on saver {{ $labels.saver }} (job {{ $labels.job }}) is {{ $value | humanizeDuration }} (threshold ${num(t.checkpointPutP99Seconds)}s).`,
      runbook: {
        meaning: `The 99th percentile of checkpoint \`put\` is above ${num(t.checkpointPutP99Seconds)} seconds.`,
        impact: 'Every step of every run waits for its checkpoint (with `durability: "sync"`), so runs slow down.',
        diagnosis: ["*LangGraph / Checkpoints & SLO*: latency and size by saver; large states make slow writes."],
        mitigation: ["Keep large blobs out of the state; index and vacuum the checkpoint tables; scale the database."],
      },
    },
    {
      key: "llmErrorRateHigh",
      alert: "LangGraphLLMErrorRateHigh",
      severity: "warning",
      expr: `${RECORDED.llmErrorRatio} > ${num(t.llmErrorRatio)}\n${guard5m("job, gen_ai_provider_name, gen_ai_request_model", RECORDED.llmRate)}`,
      summary: "LLM calls fail too often.",
      description: `{{ $value | humanizePercentage }} of the calls to model {{ $labels.gen_ai_request_model }} of {{ $labels.gen_ai_provider_name }} (job {{ $labels.job }}) failed over the last 5m (threshold ${percent(t.llmErrorRatio)}).`,
      runbook: {
        meaning: `More than ${percent(t.llmErrorRatio)} of the calls to one model failed over 5 minutes.`,
        impact: "Nodes that call this model fail, retry or fall back.",
        diagnosis: [
          "*LangGraph / LLM & Tools*: LLM error ratio and latency by model.",
          "The provider's status page; `error_type` on the failing series.",
        ],
        mitigation: ["Switch to a fallback model or provider; lower concurrency on rate limits (`429`)."],
      },
    },
    {
      key: "llmTokenBudgetExceeded",
      alert: "LangGraphLLMTokenBudgetExceeded",
      severity: "warning",
      expr: `sum by (job) (increase(${metric("genAiTokens", "sum")}${s()}[1d])) > ${num(t.tokenBudgetPerDay)}`,
      summary: "LLM token use is above the daily budget.",
      description: `Job {{ $labels.job }} used {{ $value | humanize }} tokens in the last 24h (budget ${num(t.tokenBudgetPerDay)}).`,
      runbook: {
        meaning: "Input plus output tokens over the last day exceed `thresholds.tokenBudgetPerDay` of the generator.",
        impact: "Cost; the provider may start rejecting calls once its quota is reached.",
        diagnosis: [
          "*LangGraph / LLM & Tools*: tokens by model and type, tokens per run, top models.",
          "Loops in the graph (an agent that never stops calling tools).",
        ],
        mitigation: ["Bound agent loops (`recursionLimit`), trim the context, cache answers; raise the budget if growth is expected."],
      },
    },
    {
      key: "llmCostBurn",
      alert: "LangGraphLLMCostBurn",
      severity: "warning",
      expr: `sum by (job) (increase(${metric("llmCost")}${s()}[1h])) > ${num(t.llmCostBudgetUsdPerHour)}`,
      summary: "LLM spend is above the hourly budget.",
      description: `Job {{ $labels.job }} spent {{ $value | humanize }} USD on LLM tokens in the last hour (budget ${num(t.llmCostBudgetUsdPerHour)} USD per hour).`,
      runbook: {
        meaning: `The cost of LLM tokens over the last hour, at the prices given to \`createMetrics({ prices })\`, is above \`thresholds.llmCostBudgetUsdPerHour\` (${num(t.llmCostBudgetUsdPerHour)} USD) of the generator. Tokens of models without a price are not in this sum: they show in \`langgraph_llm_unpriced_tokens_total\`.`,
        impact: "Money: at this rate the day costs 24 times the hourly budget. A runaway agent loop often shows here first.",
        diagnosis: [
          "*LangGraph / LLM & Tools*: cost per hour by model and graph shows who spends; cost per run p95 shows whether runs got dearer or more numerous.",
          "Tokens per run and the cached-input share: a prompt that stopped hitting the cache costs several times more.",
          "Loops in the graph (an agent that never stops calling tools), or traffic growth on *LangGraph / Overview*.",
        ],
        mitigation: [
          "Bound agent loops (`recursionLimit`), trim the context, route cheap requests to a cheaper model; raise the budget if the growth is expected.",
          "Check the price table when the cost jumped without a change in tokens: a wrong rate or unit (USD per million tokens).",
        ],
      },
    },
    {
      key: "llmTimeToFirstTokenHigh",
      alert: "LangGraphLLMTimeToFirstTokenHigh",
      severity: "warning",
      expr: `histogram_quantile(0.95, sum by (job, gen_ai_provider_name, gen_ai_request_model, le) (rate(${metric("genAiTimeToFirstChunk", "bucket")}${s()}[5m]))) > ${num(t.llmTimeToFirstTokenP95Seconds)}\n${guard5m("job, gen_ai_provider_name, gen_ai_request_model", `rate(${metric("genAiTimeToFirstChunk", "count")}${s()}[5m])`)}`,
      summary: "Streamed LLM answers are slow to start.",
      description: `The p95 time to first token of model {{ $labels.gen_ai_request_model }} of {{ $labels.gen_ai_provider_name }} (job {{ $labels.job }}) is {{ $value | humanizeDuration }} (SLO ${num(t.llmTimeToFirstTokenP95Seconds)}s).`,
      runbook: {
        meaning: `The 95th percentile of time to first chunk of streamed calls to one model (\`gen_ai_client_operation_time_to_first_chunk_seconds\`) is above \`thresholds.llmTimeToFirstTokenP95Seconds\` (${num(t.llmTimeToFirstTokenP95Seconds)} s) over 5 minutes, with at least ${config.minEvents} streamed calls.`,
        impact: "Users of a streaming UI stare at an empty answer; some give up and retry, which adds load.",
        diagnosis: [
          "*LangGraph / LLM & Tools*: time to first token p50/p95 by model, against LLM latency and tokens per call (long prompts start later).",
          'The provider\'s status page; rate-limit retries (`langgraph_node_retries_total{reason="rate_limited"}`) delay the first token too.',
        ],
        mitigation: [
          "Shorten prompts or enable prompt caching, switch to a faster model or region, or raise the SLO if the model is slow by design.",
        ],
      },
    },
    {
      key: "targetDown",
      alert: "LangGraphTargetDown",
      severity: "warning",
      expr: `up${s()} == 0\nand on (job)\ncount by (job) (max_over_time(${metric("graphsInFlight")}${s()}[1d]))`,
      summary: "A LangGraph metrics target is down.",
      description:
        "Prometheus cannot scrape {{ $labels.instance }} of job {{ $labels.job }}, which exported LangGraph metrics in the last day.",
      runbook: {
        meaning: "The scrape of an instance that exported `langgraph_*` metrics fails.",
        impact: "No metrics from that instance: every other alert is blind for it. The instance itself may be down.",
        diagnosis: [
          "Prometheus *Status → Targets* for the scrape error.",
          "Whether `serveMetrics` (or the app's `/metrics` route) is reachable from Prometheus.",
        ],
        mitigation: ["Restart the instance; fix the network policy or the scrape config."],
      },
    },
    {
      key: "traceExportFailing",
      alert: "LangGraphTraceExportFailing",
      severity: "warning",
      // 15m of `for:` on a 5m ratio: a collector restart or a short blip does not fire, a destination that stays
      // down or keeps rejecting does.
      expr: `${RECORDED.traceExportFailureRatio} > ${num(t.traceExportFailureRatio)}\n${guard5m("job, exporter", RECORDED.traceExportRate)}`,
      summary: "LangGraph traces fail to export.",
      description: `Trace exporter {{ $labels.exporter }} (job {{ $labels.job }}) failed to deliver {{ $value | humanizePercentage }} of its spans over the last 5m (threshold ${percent(t.traceExportFailureRatio)}): those traces are lost.`,
      runbook: {
        meaning: `More than ${percent(t.traceExportFailureRatio)} of the spans a trace exporter (\`otlp\` or \`langfuse\` of \`startTelemetry\`, or one wrapped with \`reportExports\`) handed on over 5 minutes did not reach the destination, after the exporter's own retries, with at least ${config.minEvents} spans in that window. The collector or Langfuse is unreachable, too slow (export timeout) or rejecting the batches (4xx/5xx).`,
        impact:
          "Traces of the failed batches are lost (no replay): runs are missing in the tracing backend or in Langfuse. Graph runs are unaffected: export runs in the background and never fails or slows a run; metrics and logs still flow.",
        diagnosis: [
          "*LangGraph / Overview*, bottom row: spans exported by exporter and result, failure ratio; one exporter or both, one job or all, since when.",
          "The app's OpenTelemetry errors (diagnostic log, global error handler): connection refused and timeouts point at the network or a down destination, 401/403 at credentials, 429/503 at an overloaded destination.",
          "For `otlp`: the collector's health and its own receiver and exporter metrics; the endpoint the app uses (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`) and network policy between them.",
          "For `langfuse`: `LANGFUSE_BASE_URL`, `LANGFUSE_PUBLIC_KEY` / `LANGFUSE_SECRET_KEY` (wrong or missing keys are rejected), Langfuse's status and ingestion limits.",
        ],
        mitigation: [
          "Restore or scale the collector, or fix the endpoint, network policy or credentials; the alert resolves once the 5m failure ratio is back under the threshold.",
          "When the destination is overloaded, lower `sampleRatio` of `startTelemetry` (or `OTEL_TRACES_SAMPLER_ARG`) until it keeps up.",
        ],
      },
    },
  ];
}

/** Every alert with its runbook entry, in file order. */
export function alertDefinitions(config: MixinConfig): AlertDefinition[] {
  return drafts(config).map((d): AlertDefinition => {
    const rule: AlertingRule = {
      alert: d.alert,
      expr: d.expr,
      ...(d.key === undefined ? {} : { for: config.for[d.key] }),
      labels: { severity: d.severity, ...d.labels },
      annotations: { summary: d.summary, description: d.description, runbook_url: `${config.runbookUrl}#${runbookAnchor(d.alert)}` },
    };
    return d.key === undefined ? { rule, runbook: d.runbook } : { key: d.key, rule, runbook: d.runbook };
  });
}

/** The `langgraph.alerts` group. */
export function alertRules(config: MixinConfig): RuleGroup<AlertingRule> {
  return { name: "langgraph.alerts", rules: alertDefinitions(config).map((d) => d.rule) };
}
