/**
 * promtool scenarios for every alert: it fires once its `for:` has elapsed, not one evaluation earlier, and stays
 * silent on healthy traffic and on too little traffic (ratio alerts) or without events (count alerts). Fire times
 * are computed from the configured `for:`, so the tests follow a customised config; the data and the expected
 * descriptions are written out by hand.
 */
import { BREAKER_STATES, type LabelSet, type LabelValue, type SeriesKey } from "../../src/observability/series.js";
import { metric } from "../catalogue.js";
import { num, percent } from "../promql.js";
import { BURN_WINDOWS } from "../rules/alerts.js";
import { type AlertKey, type MixinConfig, durationSeconds } from "../config.js";
import { SLO_NAME } from "../rules/slo.js";
import type { AlertScenarios, Check, ExpectedAlert, InputSeries } from "./model.js";

const JOB = "agents";
const INSTANCE = "10.0.0.1:9464";
const base = { job: JOB, instance: INSTANCE };
const graph = { ...base, graph: "support" };
const node = { ...graph, node: "call_model" };

/** Labels every input series carries besides its own; `le` for histogram buckets. */
type Target = { job: string; instance: string; le?: string };

/**
 * An input series of a catalogue series (`[key, suffix]` for a histogram's bucket, sum or count): its labels and
 * their bounded values are checked against the catalogue, so a fixture cannot use a value the code never emits.
 */
function s<K extends SeriesKey>(
  series: K | readonly [K, "bucket" | "sum" | "count"],
  labels: Target & Partial<LabelSet<K>>,
  values: string,
): InputSeries {
  const [key, suffix] = typeof series === "string" ? [series, undefined] : series;
  return { metric: metric(key, suffix), labels: labels as Record<string, string>, values };
}

/** Prometheus's own `up` series of a scrape target. */
function up(labels: Target, values: string): InputSeries {
  return { metric: "up", labels, values };
}

/** A counter growing by `step` per minute for `minutes` minutes. */
function ramp(step: number, minutes: number): string {
  return `0+${step}x${minutes}`;
}

/** Silent one evaluation before `onset + for`, firing at it. */
function firesAfter(onset: number, forMinutes: number, firing: ExpectedAlert[]): Check[] {
  return [
    { atMinutes: onset + forMinutes - 1, firing: [] },
    { atMinutes: onset + forMinutes, firing },
  ];
}

/** Silent at the time the alert would fire and well after. */
function silent(onset: number, forMinutes: number): Check[] {
  return [
    { atMinutes: onset + forMinutes, firing: [] },
    { atMinutes: onset + 2 * forMinutes + 5, firing: [] },
  ];
}

/** Scenarios for all alerts of the generated rule file. */
export function alertScenarios(config: MixinConfig): AlertScenarios[] {
  const f = (key: AlertKey) => durationSeconds(config.for[key]) / 60;
  const len = (key: AlertKey) => 2 * f(key) + 15;
  const budgetPct = (factor: number) => percent(factor * (1 - config.sloTarget));
  const sloPct = percent(config.sloTarget);
  const periodDays = durationSeconds(config.sloPeriod) / 86_400;
  const lasts = (factor: number) => {
    const days = periodDays / factor;
    return days >= 1 ? `${Math.round(days * 10) / 10} days` : `${Math.round(days * 240) / 10} hours`;
  };
  const burnAlert = (w: (typeof BURN_WINDOWS)[number], value: string): ExpectedAlert => ({
    labels: { job: JOB, graph: "support", slo: SLO_NAME },
    variant: { long: w.long, short: w.short },
    description: `Graph support (job ${JOB}) failed ${value} of its runs over the last ${w.long} and more than ${budgetPct(w.factor)} over the last ${w.short}: ${w.factor}x the error budget of the ${sloPct} availability SLO, which lasts ${lasts(w.factor)} at this rate.`,
  });
  const burnLen = Math.max(...BURN_WINDOWS.map((w) => f(w.key))) + 10;
  const runs = (status: LabelValue<"graphRuns", "status">, step: number, n: number) => s("graphRuns", { ...graph, status }, ramp(step, n));
  // Onset 1m: a rate needs two samples. Each window fires after its own `for:`, the faster ones stay firing.
  const fastBurnChecks: Check[] = BURN_WINDOWS.flatMap((w, i) => [
    { atMinutes: 1 + f(w.key) - 1, firing: BURN_WINDOWS.slice(0, i).map((x) => burnAlert(x, "50%")) },
    { atMinutes: 1 + f(w.key), firing: BURN_WINDOWS.slice(0, i + 1).map((x) => burnAlert(x, "50%")) },
  ]);
  const lastBurn = 1 + Math.max(...BURN_WINDOWS.map((w) => f(w.key)));
  const runLen = len("highRunErrorRate");
  const nodeExec = (status: LabelValue<"nodeExecutions", "status">, step: number, n: number) =>
    s("nodeExecutions", { ...node, status }, ramp(step, n));

  const runBuckets = (le: Record<string, number>, n: number) =>
    Object.entries(le).map(([bound, step]) => s(["graphDuration", "bucket"], { ...graph, status: "success", le: bound }, ramp(step, n)));
  const latLen = len("runLatencyHigh");

  const putBuckets = (le: Record<string, number>, n: number) => [
    ...Object.entries(le).map(([bound, step]) =>
      s(
        ["checkpointDuration", "bucket"],
        { ...base, saver: "PostgresSaver", operation: "put", status: "success", le: bound },
        ramp(step, n),
      ),
    ),
    s(["checkpointDuration", "count"], { ...base, saver: "PostgresSaver", operation: "put", status: "success" }, ramp(le["+Inf"] ?? 0, n)),
  ];
  const cpLen = len("checkpointLatencyHigh");

  const llm = { ...base, gen_ai_operation_name: "chat", gen_ai_provider_name: "openai", gen_ai_request_model: "gpt-4o" };
  const llmCount = (step: number, n: number, errorType?: string) =>
    s(["genAiDuration", "count"], errorType === undefined ? llm : { ...llm, error_type: errorType }, ramp(step, n));
  const llmLen = len("llmErrorRateHigh");
  const llmAlert: ExpectedAlert = {
    labels: { job: JOB, gen_ai_provider_name: "openai", gen_ai_request_model: "gpt-4o" },
    description: `25% of the calls to model gpt-4o of openai (job ${JOB}) failed over the last 5m (threshold ${percent(config.thresholds.llmErrorRatio)}).`,
  };

  const breaker = (state: LabelValue<"breakerState", "state">, values: string) =>
    s("breakerState", { ...base, breaker: "openai", state }, values);
  const brLen = len("circuitBreakerOpen");
  const breakerAlert: ExpectedAlert = {
    labels: { job: JOB, breaker: "openai" },
    description: `Circuit breaker openai (job ${JOB}) has not been closed on at least one instance for the alert's whole \`for:\` duration: calls through it fail fast.`,
  };
  const fleetState = (state: LabelValue<"breakerFleetState", "state">, values: string) =>
    s("breakerFleetState", { ...base, breaker: "openai", state }, values);
  const offLen = len("breakerOffFleetState");
  const offFleetAlert: ExpectedAlert = {
    labels: { job: JOB, instance: INSTANCE, breaker: "openai" },
    description: `Circuit breaker openai on ${INSTANCE} (job ${JOB}) has not read the fleet state from its shared store for the alert's whole \`for:\` duration: it opens and probes on its own.`,
  };
  // Open for 3 evaluations, probing (half-open) for 1, repeated: a breaker whose probes keep failing.
  const cycle = (open: string, half: string, n: number) => Array.from({ length: n }, (_, i) => (i % 4 === 3 ? half : open)).join(" ");

  const idem = (result: LabelValue<"idempotencyRequests", "result">, step: number, n: number) =>
    s("idempotencyRequests", { ...node, result }, ramp(step, n));
  const idLen = len("idempotencyConflicts");

  const tokens = (step: number, n: number) => s(["genAiTokens", "sum"], { ...llm, gen_ai_token_type: "input" }, ramp(step, n));
  const budgetMillions = config.thresholds.tokenBudgetPerDay / 1e6;
  // 1M tokens a minute: the daily increase passes the budget one minute after budget/1M minutes.
  const tokenOnset = budgetMillions + 1;
  const tokLen = tokenOnset + 2 * f("llmTokenBudgetExceeded") + 10;

  const budgetUsd = config.thresholds.llmCostBudgetUsdPerHour;
  // A twentieth of the hourly budget a minute: the hour's increase passes the budget after 21 minutes.
  const cost = (perMinute: number, n: number) =>
    s(
      "llmCost",
      { ...graph, gen_ai_provider_name: "openai", gen_ai_request_model: "gpt-4o", gen_ai_token_type: "input" },
      ramp(perMinute, n),
    );
  const costOnset = 21;
  const costLen = costOnset + 2 * f("llmCostBurn") + 10;

  const ttfcLen = len("llmTimeToFirstTokenHigh");
  const ttfc = (le: Record<string, number>, n: number) => {
    const { job, instance, gen_ai_operation_name, gen_ai_provider_name, gen_ai_request_model } = llm;
    const labels = { job, instance, gen_ai_operation_name, gen_ai_provider_name, gen_ai_request_model };
    return [
      ...Object.entries(le).map(([bound, step]) => s(["genAiTimeToFirstChunk", "bucket"], { ...labels, le: bound }, ramp(step, n))),
      s(["genAiTimeToFirstChunk", "count"], labels, ramp(le["+Inf"] ?? 0, n)),
    ];
  };
  const slo = config.thresholds.llmTimeToFirstTokenP95Seconds;

  const exported = (result: LabelValue<"traceExportSpans", "result">, values: string) =>
    s("traceExportSpans", { ...base, exporter: "otlp", result }, values);
  const exLen = len("traceExportFailing");
  const exportAlert = (value: string): ExpectedAlert => ({
    labels: { job: JOB, exporter: "otlp" },
    description: `Trace exporter otlp (job ${JOB}) failed to deliver ${value} of its spans over the last 5m (threshold ${percent(config.thresholds.traceExportFailureRatio)}): those traces are lost.`,
  });
  // A 5-minute outage keeps the 5m ratio above the threshold for about nine evaluations.
  const blipMinutes = 5;

  return [
    {
      alert: "LangGraphRunErrorBudgetBurn",
      scenarios: [
        {
          name: "half of all runs fail: each window fires after its own for",
          series: [runs("success", 50, burnLen), runs("error", 50, burnLen)],
          checks: fastBurnChecks,
        },
        {
          name: "2% of runs fail: only the 3x and 1x windows fire",
          series: [runs("success", 98, burnLen), runs("error", 2, burnLen)],
          checks: [
            {
              atMinutes: lastBurn,
              firing: BURN_WINDOWS.filter((w) => 0.02 > w.factor * (1 - config.sloTarget)).map((w) => burnAlert(w, "2%")),
            },
          ],
        },
        {
          name: "healthy: 0.1% of runs fail",
          series: [runs("success", 999, burnLen), runs("error", 1, burnLen)],
          checks: BURN_WINDOWS.map((w) => ({ atMinutes: 1 + f(w.key), firing: [] })),
        },
        {
          name: "too little traffic: every run fails but fewer than minEvents runs per long window",
          series: [runs("error", 0.04, burnLen)],
          checks: BURN_WINDOWS.map((w) => ({ atMinutes: 1 + f(w.key), firing: [] })),
        },
      ],
    },
    {
      alert: "LangGraphHighRunErrorRate",
      scenarios: [
        {
          name: "half of the runs fail",
          series: [runs("success", 20, runLen), runs("error", 20, runLen), runs("cancelled", 100, runLen)],
          checks: firesAfter(1, f("highRunErrorRate"), [
            {
              labels: { job: JOB, graph: "support" },
              description: `50% of the runs of graph support (job ${JOB}) failed over the last 5m (threshold ${percent(config.thresholds.runErrorRatio)}).`,
            },
          ]),
        },
        {
          name: "healthy: 1% of runs fail",
          series: [runs("success", 99, runLen), runs("error", 1, runLen)],
          checks: silent(1, f("highRunErrorRate")),
        },
        {
          name: "too little traffic: one failed run a minute",
          series: [runs("error", 1, runLen)],
          checks: silent(1, f("highRunErrorRate")),
        },
      ],
    },
    {
      alert: "LangGraphRunLatencyHigh",
      scenarios: [
        {
          name: "every run takes between 60s and 120s",
          series: [runs("success", 20, latLen), ...runBuckets({ "10": 0, "60": 0, "120": 20, "+Inf": 20 }, latLen)],
          checks: firesAfter(1, f("runLatencyHigh"), [
            {
              labels: { job: JOB, graph: "support", quantile: "0.95" },
              description: `The p95 run time of graph support (job ${JOB}) is 1m 57s (threshold ${config.thresholds.runLatencyP95Seconds}s).`,
            },
          ]),
        },
        {
          name: "healthy: runs take under 10s",
          series: [runs("success", 20, latLen), ...runBuckets({ "10": 20, "60": 20, "120": 20, "+Inf": 20 }, latLen)],
          checks: silent(1, f("runLatencyHigh")),
        },
        {
          name: "too little traffic: one slow run a minute",
          series: [runs("success", 1, latLen), ...runBuckets({ "10": 0, "60": 0, "120": 1, "+Inf": 1 }, latLen)],
          checks: silent(1, f("runLatencyHigh")),
        },
      ],
    },
    {
      alert: "LangGraphRunsStuck",
      scenarios: [
        {
          name: "two runs in flight, none finishes",
          series: [
            s("graphsInFlight", graph, `2x${len("runsStuck")}`),
            s("graphRuns", { ...graph, status: "success" }, `0x${len("runsStuck")}`),
          ],
          checks: firesAfter(0, f("runsStuck"), [
            {
              labels: graph,
              description: `2 runs of graph support are in flight on ${INSTANCE} (job ${JOB}) and no run of that graph finished in the last 30m.`,
            },
          ]),
        },
        {
          name: "healthy: runs in flight and finishing",
          series: [s("graphsInFlight", graph, `2x${len("runsStuck")}`), runs("success", 10, len("runsStuck"))],
          checks: silent(1, f("runsStuck")),
        },
        {
          name: "idle: nothing in flight, nothing finishing",
          series: [
            s("graphsInFlight", graph, `0x${len("runsStuck")}`),
            s("graphRuns", { ...graph, status: "success" }, `0x${len("runsStuck")}`),
          ],
          checks: silent(0, f("runsStuck")),
        },
      ],
    },
    {
      alert: "LangGraphNodeErrorRateHigh",
      scenarios: [
        {
          name: "half of the node's executions fail",
          series: [nodeExec("success", 10, len("nodeErrorRateHigh")), nodeExec("error", 10, len("nodeErrorRateHigh"))],
          checks: firesAfter(1, f("nodeErrorRateHigh"), [
            {
              labels: { job: JOB, graph: "support", node: "call_model" },
              description: `Node call_model of graph support (job ${JOB}) failed 50% of its executions over the last 5m (threshold ${percent(config.thresholds.nodeErrorRatio)}).`,
            },
          ]),
        },
        {
          name: "healthy: 1% fail",
          series: [nodeExec("success", 99, len("nodeErrorRateHigh")), nodeExec("error", 1, len("nodeErrorRateHigh"))],
          checks: silent(1, f("nodeErrorRateHigh")),
        },
        {
          name: "too little traffic: one failed execution a minute",
          series: [nodeExec("error", 1, len("nodeErrorRateHigh"))],
          checks: silent(1, f("nodeErrorRateHigh")),
        },
      ],
    },
    {
      alert: "LangGraphRetryRateHigh",
      scenarios: [
        {
          name: "one retry every two executions",
          series: [
            nodeExec("success", 20, len("retryRateHigh")),
            s("nodeRetries", { ...node, reason: "rate_limited" }, ramp(10, len("retryRateHigh"))),
          ],
          checks: firesAfter(1, f("retryRateHigh"), [
            {
              labels: { job: JOB, graph: "support", node: "call_model" },
              description: `Node call_model of graph support (job ${JOB}) makes 0.50 retries per execution over the last 5m (threshold ${config.thresholds.retryRatio}).`,
            },
          ]),
        },
        {
          name: "healthy: one retry every 20 executions",
          series: [
            nodeExec("success", 20, len("retryRateHigh")),
            s("nodeRetries", { ...node, reason: "rate_limited" }, ramp(1, len("retryRateHigh"))),
          ],
          checks: silent(1, f("retryRateHigh")),
        },
        {
          name: "too little traffic: one execution and one retry a minute",
          series: [
            nodeExec("success", 1, len("retryRateHigh")),
            s("nodeRetries", { ...node, reason: "rate_limited" }, ramp(1, len("retryRateHigh"))),
          ],
          checks: silent(1, f("retryRateHigh")),
        },
      ],
    },
    {
      alert: "LangGraphRetriesExhausted",
      scenarios: [
        {
          name: "the node gives up once a minute",
          series: [s("retriesExhausted", node, ramp(1, len("retriesExhausted")))],
          checks: firesAfter(1, f("retriesExhausted"), [
            {
              labels: { job: JOB, graph: "support", node: "call_model" },
              description: `Node call_model of graph support (job ${JOB}) exhausted its retries and rethrew; failed calls in the last 15m: ${1 + f("retriesExhausted")}.`,
            },
          ]),
        },
        {
          name: "a series that first appears at 1 (prom-client creates it on the first increment)",
          series: [s("retriesExhausted", node, `_ _ _ _ _ 1x${len("retriesExhausted") + 20}`)],
          checks: [
            ...firesAfter(5, f("retriesExhausted"), [
              {
                labels: { job: JOB, graph: "support", node: "call_model" },
                description: `Node call_model of graph support (job ${JOB}) exhausted its retries and rethrew; failed calls in the last 15m: 1.`,
              },
            ]),
            { atMinutes: 5 + 15 + 1, firing: [] },
          ],
        },
        {
          name: "healthy: the counter exists and stays at zero",
          series: [s("retriesExhausted", node, `0x${len("retriesExhausted")}`)],
          checks: silent(1, f("retriesExhausted")),
        },
        {
          name: "resolved: one give-up long ago is forgotten after 15m",
          series: [s("retriesExhausted", node, `0 1x${len("retriesExhausted") + 30}`)],
          checks: [
            { atMinutes: 17, firing: [] },
            { atMinutes: 40, firing: [] },
          ],
        },
      ],
    },
    {
      alert: "LangGraphTimeoutRateHigh",
      scenarios: [
        {
          name: "a timeout every four executions",
          series: [nodeExec("success", 20, len("timeoutRateHigh")), s("nodeTimeouts", node, ramp(5, len("timeoutRateHigh")))],
          checks: firesAfter(1, f("timeoutRateHigh"), [
            {
              labels: { job: JOB, graph: "support", node: "call_model" },
              description: `Node call_model of graph support (job ${JOB}) timed out 0.25 times per execution over the last 5m (threshold ${config.thresholds.timeoutRatio}).`,
            },
          ]),
        },
        {
          name: "healthy: a timeout every 40 executions",
          series: [nodeExec("success", 20, len("timeoutRateHigh")), s("nodeTimeouts", node, ramp(0.5, len("timeoutRateHigh")))],
          checks: silent(1, f("timeoutRateHigh")),
        },
        {
          name: "too little traffic: one execution that times out a minute",
          series: [nodeExec("error", 1, len("timeoutRateHigh")), s("nodeTimeouts", node, ramp(1, len("timeoutRateHigh")))],
          checks: silent(1, f("timeoutRateHigh")),
        },
      ],
    },
    {
      alert: "LangGraphCircuitBreakerOpen",
      scenarios: [
        {
          name: "the breaker stays open",
          series: [breaker("closed", `0x${brLen}`), breaker("open", `1x${brLen}`), breaker("half_open", `0x${brLen}`)],
          checks: firesAfter(0, f("circuitBreakerOpen"), [breakerAlert]),
        },
        {
          name: "the breaker cycles open / half-open while its probes fail",
          series: [
            breaker("closed", `0x${brLen}`),
            breaker("open", cycle("1", "0", brLen + 1)),
            breaker("half_open", cycle("0", "1", brLen + 1)),
          ],
          checks: firesAfter(0, f("circuitBreakerOpen"), [breakerAlert]),
        },
        {
          name: "open for exactly its for: evaluations, then closed again",
          series: [
            breaker("closed", `1 ${"0 ".repeat(f("circuitBreakerOpen"))}1x${brLen}`),
            breaker("open", `0 ${"1 ".repeat(f("circuitBreakerOpen"))}0x${brLen}`),
            breaker("half_open", `0x${brLen + f("circuitBreakerOpen") + 1}`),
          ],
          checks: Array.from({ length: f("circuitBreakerOpen") + 4 }, (_, i) => ({ atMinutes: 1 + i, firing: [] })),
        },
        {
          name: "healthy: the breaker is closed",
          series: [breaker("closed", `1x${brLen}`), breaker("open", `0x${brLen}`), breaker("half_open", `0x${brLen}`)],
          checks: silent(0, f("circuitBreakerOpen")),
        },
      ],
    },
    {
      alert: "LangGraphBreakerOffFleetState",
      scenarios: [
        {
          name: "the replica cannot reach the breaker store",
          series: BREAKER_STATES.map((state) => fleetState(state, `0x${offLen}`)),
          checks: firesAfter(0, f("breakerOffFleetState"), [offFleetAlert]),
        },
        {
          name: "the store is back before the alert's for:",
          series: BREAKER_STATES.map((state) =>
            fleetState(state, `${"0 ".repeat(f("breakerOffFleetState") - 1)}${state === "closed" ? 1 : 0}x${offLen}`),
          ),
          checks: silent(0, f("breakerOffFleetState")),
        },
        {
          name: "healthy: the replica reads the pooled state (open is still read)",
          series: BREAKER_STATES.map((state) => fleetState(state, `${state === "open" ? 1 : 0}x${offLen}`)),
          checks: silent(0, f("breakerOffFleetState")),
        },
      ],
    },
    {
      alert: "LangGraphRateLimitRejections",
      scenarios: [
        {
          name: "the limiter refuses six calls a minute",
          series: [s("rateLimitRejections", { ...base, limiter: "openai" }, ramp(6, len("rateLimitRejections")))],
          checks: firesAfter(1, f("rateLimitRejections"), [
            {
              labels: { job: JOB, limiter: "openai" },
              description: `Rate limiter openai (job ${JOB}) refuses 0.10 calls/s with RateLimitedError: demand is above the configured limit for longer than callers may wait.`,
            },
          ]),
        },
        {
          name: "healthy: the limiter exists and refuses nothing",
          series: [s("rateLimitRejections", { ...base, limiter: "openai" }, `0x${len("rateLimitRejections")}`)],
          checks: silent(1, f("rateLimitRejections")),
        },
      ],
    },
    {
      alert: "LangGraphCircuitBreakerFlapping",
      scenarios: [
        {
          name: "the breaker recovers every minute",
          series: [s("breakerTransitions", { ...base, breaker: "openai", to: "closed" }, ramp(1, 40))],
          checks: [
            { atMinutes: config.thresholds.breakerFlapsPer30m, firing: [] },
            {
              atMinutes: config.thresholds.breakerFlapsPer30m + 1,
              firing: [
                {
                  labels: { job: JOB, breaker: "openai" },
                  description: `Circuit breaker openai (job ${JOB}) recovered ${config.thresholds.breakerFlapsPer30m + 1} times in the last 30m (threshold ${config.thresholds.breakerFlapsPer30m}).`,
                },
              ],
            },
          ],
        },
        {
          name: "healthy: one recovery",
          series: [s("breakerTransitions", { ...base, breaker: "openai", to: "closed" }, "0 1x40")],
          checks: [
            { atMinutes: 5, firing: [] },
            { atMinutes: 30, firing: [] },
          ],
        },
      ],
    },
    {
      alert: "LangGraphIdempotencyConflicts",
      scenarios: [
        {
          name: "a quarter of the lookups conflict",
          series: [idem("miss", 15, idLen), idem("conflict", 5, idLen)],
          checks: firesAfter(1, f("idempotencyConflicts"), [
            {
              labels: { job: JOB, graph: "support", node: "call_model" },
              description: `25% of the idempotency lookups of node call_model in graph support (job ${JOB}) conflicted with a call still in progress over the last 5m.`,
            },
          ]),
        },
        {
          name: "healthy: 1% conflict",
          series: [idem("miss", 99, idLen), idem("conflict", 1, idLen)],
          checks: silent(1, f("idempotencyConflicts")),
        },
        {
          name: "too little traffic: one conflicting lookup a minute",
          series: [idem("conflict", 1, idLen)],
          checks: silent(1, f("idempotencyConflicts")),
        },
      ],
    },
    {
      alert: "LangGraphCheckpointErrors",
      scenarios: [
        {
          name: "puts fail six times a minute",
          series: [
            s(
              ["checkpointDuration", "count"],
              { ...base, saver: "PostgresSaver", operation: "put", status: "error" },
              ramp(6, len("checkpointErrors")),
            ),
          ],
          checks: firesAfter(1, f("checkpointErrors"), [
            {
              labels: { job: JOB, saver: "PostgresSaver", operation: "put" },
              // rate[5m] of 6/min over the samples seen so far (fewer than five minutes when `for:` is short)
              description: `Checkpoint put operations of saver PostgresSaver (job ${JOB}) fail at ${((6 * Math.min(1 + f("checkpointErrors"), 5)) / 300).toFixed(2)}/s.`,
            },
          ]),
        },
        // One error keeps rate[5m] above zero for five evaluations: silent when `for:` is at least that long.
        ...(f("checkpointErrors") >= 5
          ? [
              {
                name: "a single failed put does not fire",
                series: [
                  s(
                    ["checkpointDuration", "count"],
                    { ...base, saver: "PostgresSaver", operation: "put", status: "error" },
                    `0 0 0 1x${len("checkpointErrors")}`,
                  ),
                ],
                checks: Array.from({ length: f("checkpointErrors") + 6 }, (_, i) => ({ atMinutes: 3 + i, firing: [] })),
              },
            ]
          : []),
        {
          name: "healthy: puts succeed",
          series: [
            s(
              ["checkpointDuration", "count"],
              { ...base, saver: "PostgresSaver", operation: "put", status: "success" },
              ramp(6, len("checkpointErrors")),
            ),
          ],
          checks: silent(1, f("checkpointErrors")),
        },
      ],
    },
    {
      alert: "LangGraphCheckpointLatencyHigh",
      scenarios: [
        {
          name: "every put takes between 1s and 5s",
          series: putBuckets({ "0.1": 0, "1": 0, "5": 20, "+Inf": 20 }, cpLen),
          checks: firesAfter(1, f("checkpointLatencyHigh"), [
            {
              labels: { job: JOB, saver: "PostgresSaver", operation: "put", quantile: "0.99" },
              description: `The p99 of checkpoint put on saver PostgresSaver (job ${JOB}) is 4.96s (threshold ${config.thresholds.checkpointPutP99Seconds}s).`,
            },
          ]),
        },
        {
          name: "healthy: puts take under 1s",
          series: putBuckets({ "0.1": 0, "1": 20, "5": 20, "+Inf": 20 }, cpLen),
          checks: silent(1, f("checkpointLatencyHigh")),
        },
        {
          name: "too little traffic: one slow put a minute",
          series: putBuckets({ "0.1": 0, "1": 0, "5": 1, "+Inf": 1 }, cpLen),
          checks: silent(1, f("checkpointLatencyHigh")),
        },
      ],
    },
    {
      alert: "LangGraphLLMErrorRateHigh",
      scenarios: [
        {
          name: "a quarter of the calls fail",
          series: [llmCount(15, llmLen), llmCount(5, llmLen, "RateLimitError")],
          checks: firesAfter(1, f("llmErrorRateHigh"), [llmAlert]),
        },
        {
          name: "healthy: 1% fail",
          series: [llmCount(99, llmLen), llmCount(1, llmLen, "RateLimitError")],
          checks: silent(1, f("llmErrorRateHigh")),
        },
        {
          name: "too little traffic: one failed call a minute",
          series: [llmCount(1, llmLen, "RateLimitError")],
          checks: silent(1, f("llmErrorRateHigh")),
        },
      ],
    },
    {
      alert: "LangGraphLLMTokenBudgetExceeded",
      scenarios: [
        {
          name: "a million tokens a minute",
          series: [tokens(1_000_000, tokLen)],
          checks: firesAfter(tokenOnset, f("llmTokenBudgetExceeded"), [
            {
              labels: { job: JOB },
              description: `Job ${JOB} used ${tokenOnset + f("llmTokenBudgetExceeded")}M tokens in the last 24h (budget ${config.thresholds.tokenBudgetPerDay}).`,
            },
          ]),
        },
        {
          name: "healthy: ten thousand tokens a minute",
          series: [tokens(10_000, tokLen)],
          checks: silent(tokenOnset, f("llmTokenBudgetExceeded")),
        },
      ],
    },
    {
      alert: "LangGraphLLMCostBurn",
      scenarios: [
        {
          name: "a twentieth of the hourly budget every minute",
          series: [cost(budgetUsd / 20, costLen)],
          checks: firesAfter(costOnset, f("llmCostBurn"), [
            {
              labels: { job: JOB },
              description: `Job ${JOB} spent ${num(((costOnset + f("llmCostBurn")) * budgetUsd) / 20)} USD on LLM tokens in the last hour (budget ${num(budgetUsd)} USD per hour).`,
            },
          ]),
        },
        {
          name: "healthy: a hundredth of the budget a minute",
          series: [cost(budgetUsd / 100, costLen)],
          checks: silent(costOnset, f("llmCostBurn")),
        },
      ],
    },
    {
      alert: "LangGraphLLMTimeToFirstTokenHigh",
      scenarios: [
        {
          name: "every first token arrives in the 5.12-10.24s bucket",
          series: ttfc({ "5.12": 0, "10.24": 10, "+Inf": 10 }, ttfcLen),
          checks: firesAfter(1, f("llmTimeToFirstTokenHigh"), [
            {
              labels: { job: JOB, gen_ai_provider_name: "openai", gen_ai_request_model: "gpt-4o" },
              // p95 interpolated in the bucket: 5.12 + 0.95 * (10.24 - 5.12) = 9.984 s.
              description: `The p95 time to first token of model gpt-4o of openai (job ${JOB}) is 9.984s (SLO ${num(slo)}s).`,
            },
          ]),
        },
        {
          name: "healthy: first tokens within 1.28s",
          series: ttfc({ "0.64": 0, "1.28": 10, "+Inf": 10 }, ttfcLen),
          checks: silent(1, f("llmTimeToFirstTokenHigh")),
        },
        {
          name: "too little traffic: one slow stream a minute",
          series: ttfc({ "5.12": 0, "10.24": 1, "+Inf": 1 }, ttfcLen),
          checks: silent(1, f("llmTimeToFirstTokenHigh")),
        },
      ],
    },
    {
      alert: "LangGraphTargetDown",
      scenarios: [
        {
          name: "a target that exported LangGraph metrics stops answering",
          series: [up(base, `1x10 0x${len("targetDown")}`), s("graphsInFlight", graph, "0x10 stale")],
          checks: firesAfter(11, f("targetDown"), [
            {
              labels: base,
              description: `Prometheus cannot scrape ${INSTANCE} of job ${JOB}, which exported LangGraph metrics in the last day.`,
            },
          ]),
        },
        {
          name: "one failed scrape",
          series: [up(base, `1x10 0 1x${len("targetDown")}`), s("graphsInFlight", graph, `0x10 stale 0x${len("targetDown")}`)],
          checks: Array.from({ length: f("targetDown") + 4 }, (_, i) => ({ atMinutes: 10 + i, firing: [] })),
        },
        {
          name: "healthy: the target is up",
          series: [up(base, `1x${len("targetDown")}`), s("graphsInFlight", graph, `0x${len("targetDown")}`)],
          checks: silent(0, f("targetDown")),
        },
        {
          name: "another job's target is down",
          series: [
            up({ job: "other", instance: "10.0.0.2:80" }, `0x${len("targetDown")}`),
            s("graphsInFlight", graph, `0x${len("targetDown")}`),
          ],
          checks: silent(0, f("targetDown")),
        },
      ],
    },
    {
      alert: "LangGraphTraceExportFailing",
      scenarios: [
        {
          name: "the collector is down: every export fails",
          // Both results exist from the exporter's creation on (seeded at 0).
          series: [exported("success", `0x${exLen}`), exported("failure", ramp(20, exLen))],
          checks: firesAfter(1, f("traceExportFailing"), [exportAlert("100%")]),
        },
        {
          name: "the collector rejects a quarter of the batches",
          series: [exported("success", ramp(30, exLen)), exported("failure", ramp(10, exLen))],
          checks: firesAfter(1, f("traceExportFailing"), [exportAlert("25%")]),
        },
        // Failures during a short collector restart stay pending: silent when `for:` outlasts them.
        ...(f("traceExportFailing") >= 2 * blipMinutes
          ? [
              {
                name: `a ${blipMinutes}-minute collector restart does not fire`,
                series: [
                  exported("success", `0x${blipMinutes} 0+20x${exLen}`),
                  exported("failure", `0+20x${blipMinutes} ${20 * blipMinutes}x${exLen}`),
                ],
                checks: Array.from({ length: f("traceExportFailing") + 10 }, (_, i) => ({ atMinutes: 1 + i, firing: [] })),
              },
            ]
          : []),
        {
          name: "healthy: 1% of the spans fail",
          series: [exported("success", ramp(99, exLen)), exported("failure", ramp(1, exLen))],
          checks: silent(1, f("traceExportFailing")),
        },
        {
          name: "too little traffic: one failed span a minute",
          series: [exported("success", `0x${exLen}`), exported("failure", ramp(1, exLen))],
          checks: silent(1, f("traceExportFailing")),
        },
      ],
    },
  ];
}
