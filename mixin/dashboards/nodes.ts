/** "LangGraph / Nodes & Resilience": which node fails or is slow, and what the resilience wrappers do about it. */
import type { LabelValue } from "../../src/observability/series.js";
import { is, metric } from "../catalogue.js";
import type { MixinConfig } from "../config.js";
import { type Dashboard, dashboard, layout, queryVariable, standardVariables } from "./grafana.js";
import { panelRatio, panelSelectors, percent, quantile, sumRate } from "../promql.js";

const EXEC = metric("nodeExecutions");

/** The nodes and resilience dashboard. */
export function nodesDashboard(config: MixinConfig): Dashboard {
  const { g, j } = panelSelectors(config);
  const n = (metric: string, ...extra: string[]): string => g(metric, 'node=~"$node"', ...extra);
  const t = config.thresholds;
  const breaker = (state: LabelValue<"breakerState", "state">) =>
    `max without (state) (${j(metric("breakerState"), is("breakerState", "state", state))})`;
  const fleet = (state: LabelValue<"breakerFleetState", "state">) =>
    `max without (state) (${j(metric("breakerFleetState"), is("breakerFleetState", "state", state))})`;
  const fleetRead = `max without (state) (${j(metric("breakerFleetState"))})`;
  return dashboard({
    uid: `${config.uidPrefix}-nodes`,
    title: "LangGraph / Nodes & Resilience",
    description:
      "Per-node executions, errors and latency, with retries, timeouts, fallbacks, bulkheads, circuit breakers, idempotency and thread claims.",
    tag: config.dashboardTag,
    variables: [
      ...standardVariables(config.selector),
      queryVariable(
        "node",
        "Node",
        `label_values(${EXEC}{${['job=~"$job"', 'instance=~"$instance"', 'graph=~"$graph"', config.selector].filter((m) => m !== "").join(", ")}}, node)`,
        true,
      ),
    ],
    panels: layout([
      [
        {
          type: "timeseries",
          id: 1,
          title: "Executions/s by node and status",
          description: "Node executions per second (each LangGraph RetryPolicy attempt counts once; withRetry attempts do not).",
          unit: "ops",
          targets: [{ expr: sumRate(n(EXEC), "graph, node, status"), legend: "{{graph}}/{{node}} {{status}}" }],
        },
        {
          type: "timeseries",
          id: 2,
          title: "Error ratio by node",
          description: `Share of node executions that failed. Alert threshold: ${percent(t.nodeErrorRatio)}.`,
          unit: "percentunit",
          min: 0,
          targets: [
            {
              expr: panelRatio(sumRate(n(EXEC, is("nodeExecutions", "status", "error")), "graph, node"), sumRate(n(EXEC), "graph, node")),
              legend: "{{graph}}/{{node}}",
            },
          ],
        },
        {
          type: "timeseries",
          id: 3,
          title: "p95 duration by node",
          description: "95th percentile of node execution time, including retries and backoff inside the node's wrappers.",
          unit: "s",
          targets: [{ expr: quantile("0.95", n(metric("nodeDuration", "bucket")), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
      ],
      [
        {
          type: "timeseries",
          id: 4,
          title: "Retries/s by reason",
          description: "Retries per second by classified reason (rate_limited, server_error, timeout, network, retry_policy…).",
          unit: "ops",
          targets: [{ expr: sumRate(n(metric("nodeRetries")), "graph, node, reason"), legend: "{{graph}}/{{node}} {{reason}}" }],
        },
        {
          type: "timeseries",
          id: 5,
          title: "Retries per execution",
          description: `Retries divided by executions, by node. Alert threshold: ${t.retryRatio}.`,
          unit: "short",
          min: 0,
          targets: [
            {
              expr: `${sumRate(n(metric("nodeRetries")), "graph, node")} / ${sumRate(n(EXEC), "graph, node")}`,
              legend: "{{graph}}/{{node}}",
            },
          ],
        },
        {
          type: "timeseries",
          id: 6,
          title: "Retries exhausted/s",
          description: "Calls where withRetry gave up (no attempts or time budget left) and rethrew.",
          unit: "ops",
          targets: [{ expr: sumRate(n(metric("retriesExhausted")), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
      ],
      [
        {
          type: "timeseries",
          id: 7,
          title: "Timeouts/s by node",
          description: "Attempts that passed their withTimeout deadline, per second.",
          unit: "ops",
          targets: [{ expr: sumRate(n(metric("nodeTimeouts")), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
        {
          type: "timeseries",
          id: 8,
          title: "Fallbacks/s by node",
          description: "Failed calls whose update came from the node's fallback instead.",
          unit: "ops",
          targets: [{ expr: sumRate(n(metric("fallbacks")), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
        {
          type: "timeseries",
          id: 9,
          title: "Bulkhead rejections/s",
          description: "Calls rejected because the node's concurrency limit and queue were full.",
          unit: "ops",
          targets: [{ expr: sumRate(n(metric("bulkheadRejections")), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
      ],
      [
        {
          type: "state-timeline",
          id: 10,
          title: "Circuit breaker state",
          description: "State of each breaker per instance: closed, half-open (probing) or open (failing fast).",
          unit: "none",
          width: 12,
          mappings: [
            {
              type: "value",
              options: {
                "0": { text: "closed", color: "green", index: 0 },
                "1": { text: "half-open", color: "yellow", index: 1 },
                "2": { text: "open", color: "red", index: 2 },
              },
            },
          ],
          thresholds: [{ color: "green", value: null }],
          targets: [{ expr: `2 * ${breaker("open")} + ${breaker("half_open")}`, legend: "{{breaker}} {{instance}}" }],
        },
        {
          type: "timeseries",
          id: 11,
          title: "Breaker rejections/s",
          description: "Calls an open breaker rejected at once with CircuitOpenError.",
          unit: "ops",
          width: 6,
          targets: [{ expr: sumRate(j(metric("breakerRejections")), "breaker"), legend: "{{breaker}}" }],
        },
        {
          type: "timeseries",
          id: 12,
          title: "Breaker transitions",
          description: "Breaker state changes in each interval, by target state; many transitions to closed mean flapping.",
          unit: "short",
          width: 6,
          targets: [
            {
              expr: `sum by (breaker, to) (increase(${j(metric("breakerTransitions"))}[$__rate_interval]))`,
              legend: "{{breaker}} → {{to}}",
            },
          ],
        },
      ],
      [
        {
          type: "timeseries",
          id: 13,
          title: "Idempotency lookups/s by result",
          description:
            "withIdempotency and runOnce lookups: hit (replayed a recorded result), miss (ran), conflict (a duplicate was in progress).",
          unit: "ops",
          targets: [{ expr: sumRate(n(metric("idempotencyRequests")), "graph, node, result"), legend: "{{graph}}/{{node}} {{result}}" }],
        },
        {
          type: "timeseries",
          id: 14,
          title: "Interrupts/s by node",
          description: "interrupt() calls per second (human-in-the-loop pauses); not errors.",
          unit: "ops",
          targets: [{ expr: sumRate(n(metric("interrupts")), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
      ],
      [
        {
          type: "timeseries",
          id: 15,
          title: "Thread claims/s by outcome",
          description:
            "guardThreads: runs that took their thread (acquired, waited, taken_over after a dead holder's lease expired), were refused (rejected) or cancelled the running run (interrupted).",
          unit: "ops",
          targets: [
            {
              expr: sumRate(g(metric("threadLocks")), "graph, strategy, outcome"),
              legend: "{{graph}} {{strategy}} {{outcome}}",
            },
          ],
        },
        {
          type: "timeseries",
          id: 16,
          title: "Thread wait p95",
          description: "How long guardThreads runs queued for their thread before running (enqueue and interrupt).",
          unit: "s",
          targets: [{ expr: quantile("0.95", g(metric("threadLockWait", "bucket")), "graph, strategy"), legend: "{{graph}} {{strategy}}" }],
        },
      ],
      [
        {
          type: "timeseries",
          id: 17,
          title: "Shared store errors/s",
          description:
            "Failed or timed-out operations of the Redis rate-limit, breaker and semaphore stores; meanwhile each policy runs on its local state.",
          unit: "ops",
          targets: [{ expr: sumRate(j(metric("storeErrors")), "store, operation"), legend: "{{store}} {{operation}}" }],
        },
      ],
      [
        {
          type: "timeseries",
          id: 18,
          title: "Rate-limit wait p95 by limiter",
          description:
            "How long calls waited for their place at a rate limiter (requests and tokens per minute, spread over the minute); 0 when they went at once.",
          unit: "s",
          targets: [{ expr: quantile("0.95", j(metric("rateLimitWait", "bucket")), "limiter"), legend: "{{limiter}}" }],
        },
        {
          type: "timeseries",
          id: 19,
          title: "Rate-limit rejections/s by limiter",
          description: "Calls refused with RateLimitedError: their place was further away than maxWaitMs or the retry budget.",
          unit: "ops",
          targets: [{ expr: sumRate(j(metric("rateLimitRejections")), "limiter"), legend: "{{limiter}}" }],
        },
        {
          type: "timeseries",
          id: 20,
          title: "Requests available by limiter",
          description:
            "Requests a limiter could let through at once, per instance (0 while callers queue); with a shared store, its last answer.",
          unit: "short",
          targets: [
            {
              expr: `min by (limiter, instance) (${j(metric("rateLimitAvailable"), is("rateLimitAvailable", "resource", "requests"))})`,
              legend: "{{limiter}} {{instance}}",
            },
          ],
        },
        {
          type: "timeseries",
          id: 21,
          title: "Tokens available by limiter",
          description:
            "Tokens a limiter could spend at once, per instance; estimates are reserved before a call and settled with its usage after.",
          unit: "short",
          targets: [
            {
              expr: `min by (limiter, instance) (${j(metric("rateLimitAvailable"), is("rateLimitAvailable", "resource", "tokens"))})`,
              legend: "{{limiter}} {{instance}}",
            },
          ],
        },
      ],
      [
        {
          type: "state-timeline",
          id: 22,
          title: "Fleet breaker state (pooled)",
          description:
            "The pooled state of each breaker with a shared store (RedisBreakerStore), as each instance last read it: closed, half-open (one replica probing), open; local while the instance cannot reach the store and acts on its own window (see Circuit breaker state).",
          unit: "none",
          width: 12,
          mappings: [
            {
              type: "value",
              options: {
                "-1": { text: "local (store unreachable)", color: "purple", index: 0 },
                "0": { text: "closed", color: "green", index: 1 },
                "1": { text: "half-open", color: "yellow", index: 2 },
                "2": { text: "open", color: "red", index: 3 },
              },
            },
          ],
          thresholds: [{ color: "green", value: null }],
          targets: [
            {
              expr: `2 * ${fleet("open")} + ${fleet("half_open")} - (1 - ${fleetRead})`,
              legend: "{{breaker}} {{instance}}",
            },
          ],
        },
        {
          type: "timeseries",
          id: 23,
          title: "Instances off the fleet breaker state",
          description:
            "Instances whose shared breaker cannot reach its store and so opens and probes on its own; during an outage each of them lets volumeThreshold failures through.",
          unit: "none",
          width: 12,
          targets: [{ expr: `count by (breaker) (${fleetRead} == 0)`, legend: "{{breaker}}" }],
        },
      ],
    ]),
  });
}
