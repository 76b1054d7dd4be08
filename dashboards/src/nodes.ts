/** "LangGraph / Nodes & Resilience": which node fails or is slow, and what the resilience wrappers do about it. */
import type { MixinConfig } from "../../alerts/src/config.js";
import { type Dashboard, dashboard, layout, queryVariable, standardVariables } from "./grafana.js";
import { g, j, quantile, ratio, sumRate } from "./queries.js";

/** `g()` plus the `node` variable. */
const n = (metric: string, ...extra: string[]): string => g(metric, 'node=~"$node"', ...extra);

const EXEC = "langgraph_node_executions_total";

/** The nodes and resilience dashboard. */
export function nodesDashboard(config: MixinConfig): Dashboard {
  const t = config.thresholds;
  const breaker = (state: string) => `max without (state) (${j("langgraph_circuit_breaker_state", `state="${state}"`)})`;
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
          title: "Executions/s by node and status",
          description: "Node executions per second (each LangGraph RetryPolicy attempt counts once; withRetry attempts do not).",
          unit: "ops",
          targets: [{ expr: sumRate(n(EXEC), "graph, node, status"), legend: "{{graph}}/{{node}} {{status}}" }],
        },
        {
          type: "timeseries",
          title: "Error ratio by node",
          description: `Share of node executions that failed. Alert threshold: ${t.nodeErrorRatio * 100}%.`,
          unit: "percentunit",
          min: 0,
          targets: [
            {
              expr: ratio(sumRate(n(EXEC, 'status="error"'), "graph, node"), sumRate(n(EXEC), "graph, node")),
              legend: "{{graph}}/{{node}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "p95 duration by node",
          description: "95th percentile of node execution time, including retries and backoff inside the node's wrappers.",
          unit: "s",
          targets: [{ expr: quantile("0.95", n("langgraph_node_duration_seconds_bucket"), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
      ],
      [
        {
          type: "timeseries",
          title: "Retries/s by reason",
          description: "Retries per second by classified reason (rate_limit, server_error, timeout, network, retry_policy…).",
          unit: "ops",
          targets: [{ expr: sumRate(n("langgraph_node_retries_total"), "graph, node, reason"), legend: "{{graph}}/{{node}} {{reason}}" }],
        },
        {
          type: "timeseries",
          title: "Retries per execution",
          description: `Retries divided by executions, by node. Alert threshold: ${t.retryRatio}.`,
          unit: "short",
          min: 0,
          targets: [
            {
              expr: `${sumRate(n("langgraph_node_retries_total"), "graph, node")} / ${sumRate(n(EXEC), "graph, node")}`,
              legend: "{{graph}}/{{node}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Retries exhausted/s",
          description: "Calls where withRetry gave up (no attempts or time budget left) and rethrew.",
          unit: "ops",
          targets: [{ expr: sumRate(n("langgraph_node_retries_exhausted_total"), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
      ],
      [
        {
          type: "timeseries",
          title: "Timeouts/s by node",
          description: "Attempts that passed their withTimeout deadline, per second.",
          unit: "ops",
          targets: [{ expr: sumRate(n("langgraph_node_timeouts_total"), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
        {
          type: "timeseries",
          title: "Fallbacks/s by node",
          description: "Failed calls whose update came from the node's fallback instead.",
          unit: "ops",
          targets: [{ expr: sumRate(n("langgraph_node_fallbacks_total"), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
        {
          type: "timeseries",
          title: "Bulkhead rejections/s",
          description: "Calls rejected because the node's concurrency limit and queue were full.",
          unit: "ops",
          targets: [{ expr: sumRate(n("langgraph_bulkhead_rejections_total"), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
      ],
      [
        {
          type: "state-timeline",
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
          title: "Breaker rejections/s",
          description: "Calls an open breaker rejected at once with CircuitOpenError.",
          unit: "ops",
          width: 6,
          targets: [{ expr: sumRate(j("langgraph_circuit_breaker_rejections_total"), "breaker"), legend: "{{breaker}}" }],
        },
        {
          type: "timeseries",
          title: "Breaker transitions",
          description: "Breaker state changes in each interval, by target state; many transitions to closed mean flapping.",
          unit: "short",
          width: 6,
          targets: [
            {
              expr: `sum by (breaker, to) (increase(${j("langgraph_circuit_breaker_transitions_total")}[$__rate_interval]))`,
              legend: "{{breaker}} → {{to}}",
            },
          ],
        },
      ],
      [
        {
          type: "timeseries",
          title: "Idempotency lookups/s by result",
          description:
            "withIdempotency and runOnce lookups: hit (replayed a recorded result), miss (ran), conflict (a duplicate was in progress).",
          unit: "ops",
          targets: [
            { expr: sumRate(n("langgraph_idempotency_requests_total"), "graph, node, result"), legend: "{{graph}}/{{node}} {{result}}" },
          ],
        },
        {
          type: "timeseries",
          title: "Interrupts/s by node",
          description: "interrupt() calls per second (human-in-the-loop pauses); not errors.",
          unit: "ops",
          targets: [{ expr: sumRate(n("langgraph_interrupts_total"), "graph, node"), legend: "{{graph}}/{{node}}" }],
        },
      ],
      [
        {
          type: "timeseries",
          title: "Thread claims/s by outcome",
          description:
            "guardThreads: runs that took their thread (acquired, waited, taken_over after a dead holder's lease expired), were refused (rejected) or cancelled the running run (interrupted).",
          unit: "ops",
          targets: [
            {
              expr: sumRate(g("langgraph_thread_lock_total"), "graph, strategy, outcome"),
              legend: "{{graph}} {{strategy}} {{outcome}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Thread wait p95",
          description: "How long guardThreads runs queued for their thread before running (enqueue and interrupt).",
          unit: "s",
          targets: [
            { expr: quantile("0.95", g("langgraph_thread_lock_wait_seconds_bucket"), "graph, strategy"), legend: "{{graph}} {{strategy}}" },
          ],
        },
      ],
    ]),
  });
}
