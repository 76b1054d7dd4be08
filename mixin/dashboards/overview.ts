/** "LangGraph / Overview": is the agent healthy right now — traffic, success, latency, load, breakers, budget, trace export. */
import { is, metric, oneOf } from "../catalogue.js";
import type { MixinConfig } from "../config.js";
import { SLO_NAME, SLO_RECORDS } from "../rules/slo.js";
import { type Dashboard, dashboard, layout, standardVariables } from "./grafana.js";
import { clean, num, panelRatio, panelSelectors, percent, quantile, sumRate } from "../promql.js";

const RUNS = metric("graphRuns");
const BUCKET = metric("graphDuration", "bucket");
const EXPORTED = metric("traceExportSpans");

/** The overview dashboard. */
export function overviewDashboard(config: MixinConfig): Dashboard {
  const { g, j } = panelSelectors(config);
  const errors = (by = "") => sumRate(g(RUNS, is("graphRuns", "status", "error")), by);
  const valid = (by = "") => sumRate(g(RUNS, 'status!="cancelled"'), by);
  const notClosed = `max by (job, breaker) (${j(metric("breakerState"), oneOf("breakerState", "state", "open", "half_open"))}) == 1`;
  const exportFailures = sumRate(j(EXPORTED, is("traceExportSpans", "result", "failure")), "exporter");
  const exported = sumRate(j(EXPORTED), "exporter");
  const budget = clean(1 - config.sloTarget);
  const nodes = { title: "LangGraph / Nodes & Resilience", uid: `${config.uidPrefix}-nodes` };
  const slo = { title: "LangGraph / Checkpoints & SLO", uid: `${config.uidPrefix}-checkpoints-slo` };
  return dashboard({
    uid: `${config.uidPrefix}-overview`,
    title: "LangGraph / Overview",
    description:
      "Graph runs of LangGraph.js agents instrumented with langgraph-ops: traffic, success, latency, load, breakers, error budget and trace export.",
    tag: config.dashboardTag,
    variables: standardVariables(config.selector),
    panels: layout([
      [
        {
          type: "stat",
          id: 1,
          title: "Runs/s",
          description: "Graph runs finished per second, all statuses.",
          unit: "reqps",
          targets: [{ expr: sumRate(g(RUNS)) }],
        },
        {
          type: "stat",
          id: 2,
          title: "Success ratio",
          description: "Share of runs that did not fail (interrupted runs count as successful, cancelled runs are left out).",
          unit: "percentunit",
          decimals: 2,
          thresholds: [
            { color: "red", value: null },
            { color: "orange", value: clean(1 - 14.4 * budget) },
            { color: "green", value: config.sloTarget },
          ],
          targets: [{ expr: `1 - ${panelRatio(errors(), valid())}` }],
        },
        {
          type: "stat",
          id: 3,
          title: "p95 run time",
          description: "95th percentile of graph run duration.",
          unit: "s",
          thresholds: [
            { color: "green", value: null },
            { color: "orange", value: config.thresholds.runLatencyP95Seconds },
          ],
          targets: [{ expr: quantile("0.95", g(BUCKET)) }],
          drilldown: nodes,
        },
        {
          type: "stat",
          id: 4,
          title: "Runs in flight",
          description: "Graph runs started and not yet finished.",
          unit: "short",
          targets: [{ expr: `sum(${g(metric("graphsInFlight"))})` }],
        },
        {
          type: "stat",
          id: 5,
          title: "Breakers not closed",
          description: "Circuit breakers open or half-open on at least one instance: calls through them fail fast.",
          unit: "short",
          thresholds: [
            { color: "green", value: null },
            { color: "red", value: 1 },
          ],
          targets: [{ expr: `count(${notClosed}) or vector(0)` }],
          drilldown: nodes,
        },
        {
          type: "stat",
          id: 6,
          title: "Error budget left",
          description: `Share of the ${config.sloPeriod} error budget of the ${percent(config.sloTarget)} availability SLO still unspent (lowest graph). Needs the recording rules of alerts/prometheus_rules.yaml.`,
          unit: "percentunit",
          decimals: 1,
          thresholds: [
            { color: "red", value: null },
            { color: "orange", value: 0.25 },
            { color: "green", value: 0.5 },
          ],
          targets: [{ expr: `min(${SLO_RECORDS.budgetRemaining}{job=~"$job", graph=~"$graph", slo="${SLO_NAME}"})` }],
          drilldown: slo,
        },
      ],
      [
        {
          type: "timeseries",
          id: 7,
          title: "Runs/s by graph and status",
          description: "Finished graph runs per second by final status: success, error, interrupted (waiting for a human), cancelled.",
          unit: "reqps",
          targets: [{ expr: sumRate(g(RUNS), "graph, status"), legend: "{{graph}} {{status}}" }],
        },
        {
          type: "timeseries",
          id: 8,
          title: "Error ratio by graph",
          description: `Share of runs (cancelled ones left out) that failed. The SLO allows ${percent(budget)} over ${config.sloPeriod}.`,
          unit: "percentunit",
          min: 0,
          targets: [{ expr: panelRatio(errors("graph"), valid("graph")), legend: "{{graph}}" }],
          drilldown: nodes,
        },
      ],
      [
        {
          type: "timeseries",
          id: 9,
          title: "Run time p50 / p95 / p99",
          description: "Quantiles of graph run duration by graph, from the run duration histogram.",
          unit: "s",
          targets: ["0.5", "0.95", "0.99"].map((q) => ({
            expr: quantile(q, g(BUCKET), "graph"),
            legend: `{{graph}} p${num(Number(q) * 100)}`,
          })),
        },
        {
          type: "timeseries",
          id: 10,
          title: "Runs in flight by graph",
          description: "Graph runs started and not yet finished; a level that never drops means stuck runs.",
          unit: "short",
          targets: [{ expr: `sum by (graph) (${g(metric("graphsInFlight"))})`, legend: "{{graph}}" }],
        },
      ],
      [
        {
          type: "timeseries",
          id: 11,
          title: "Node timeouts/s by graph",
          description: "Node attempts that hit their timeout, per second.",
          unit: "ops",
          targets: [{ expr: sumRate(g(metric("nodeTimeouts")), "graph"), legend: "{{graph}}" }],
        },
        {
          type: "timeseries",
          id: 12,
          title: "Node retries/s by graph",
          description: "Retries made by withRetry and by LangGraph retry policies, per second.",
          unit: "ops",
          targets: [{ expr: sumRate(g(metric("nodeRetries")), "graph"), legend: "{{graph}}" }],
        },
      ],
      [
        {
          type: "timeseries",
          id: 13,
          title: "Trace spans exported/s by exporter and result",
          description:
            "Spans the trace exporters (otlp, langfuse) handed to their destination per second: success, or failure once the exporter's own retries gave up (collector down, 5xx, timeout). Exporters are process-wide, so the graph filter does not apply.",
          unit: "ops",
          targets: [{ expr: sumRate(j(EXPORTED), "exporter, result"), legend: "{{exporter}} {{result}}" }],
        },
        {
          type: "timeseries",
          id: 14,
          title: "Trace export failure ratio by exporter",
          description: `Share of spans whose export failed: traces lost, graph runs unaffected. The alert fires above ${percent(config.thresholds.traceExportFailureRatio)} for ${config.for.traceExportFailing}.`,
          unit: "percentunit",
          min: 0,
          max: 1,
          targets: [{ expr: panelRatio(exportFailures, exported), legend: "{{exporter}}" }],
        },
      ],
    ]),
  });
}
