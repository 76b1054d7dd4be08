/**
 * "LangGraph / Checkpoints & SLO": checkpoint health and the availability SLO of graph runs. The SLO panels read the
 * recording rules of alerts/prometheus_rules.yaml, which aggregate instances away (an SLO is per job and graph), so
 * they filter on job and graph only.
 */
import { is, metric } from "../catalogue.js";
import type { MixinConfig } from "../config.js";
import { BURN_WINDOWS } from "../rules/alerts.js";
import { SLO_NAME, SLO_RECORDS, sliErrorRatio } from "../rules/slo.js";
import { type Dashboard, dashboard, layout, standardVariables } from "./grafana.js";
import { clean, num, panelRatio, panelSelectors, percent, quantile, sumRate } from "../promql.js";

const CP = metric("checkpointDuration");

/** The checkpoints and SLO dashboard. */
export function sloDashboard(config: MixinConfig): Dashboard {
  const { j } = panelSelectors(config);
  const budget = clean(1 - config.sloTarget);
  const slo = (record: string) => `${record}{job=~"$job", graph=~"$graph", slo="${SLO_NAME}"}`;
  const windows = ["5m", "1h", "6h", "1d", "3d"];
  return dashboard({
    uid: `${config.uidPrefix}-checkpoints-slo`,
    title: "LangGraph / Checkpoints & SLO",
    description: `Checkpoint saver latency, errors and size; the ${percent(config.sloTarget)} availability SLO of graph runs over ${config.sloPeriod}: SLI per window, burn rate, error budget. SLO panels read the recording rules of alerts/prometheus_rules.yaml and follow job and graph (an SLO spans all instances).`,
    tag: config.dashboardTag,
    variables: standardVariables(config.selector),
    panels: layout([
      [
        {
          type: "stat",
          id: 1,
          title: `Availability over ${config.sloPeriod}`,
          description: `Share of runs that did not fail over the SLO period (lowest graph). Objective: ${percent(config.sloTarget)}.`,
          unit: "percentunit",
          decimals: 3,
          thresholds: [
            { color: "red", value: null },
            { color: "green", value: config.sloTarget },
          ],
          targets: [{ expr: `1 - max(${slo(sliErrorRatio(config.sloPeriod))})` }],
        },
        {
          type: "stat",
          id: 2,
          title: "Error budget left",
          description: `Share of the ${config.sloPeriod} error budget (${percent(budget)} of runs) still unspent, lowest graph.`,
          unit: "percentunit",
          decimals: 1,
          thresholds: [
            { color: "red", value: null },
            { color: "orange", value: 0.25 },
            { color: "green", value: 0.5 },
          ],
          targets: [{ expr: `min(${slo(SLO_RECORDS.budgetRemaining)})` }],
        },
        {
          type: "stat",
          id: 3,
          title: "Burn rate 1h",
          description:
            "Error ratio over the last hour divided by the budgeted error ratio; 1 spends the budget exactly over the period, 14.4 pages.",
          unit: "short",
          decimals: 1,
          thresholds: [
            { color: "green", value: null },
            { color: "orange", value: 1 },
            { color: "red", value: 14.4 },
          ],
          targets: [{ expr: `max(${slo(sliErrorRatio("1h"))}) / ${budget}` }],
        },
        {
          type: "stat",
          id: 4,
          title: "Burn rate 6h",
          description: "Error ratio over the last six hours divided by the budgeted error ratio; 6 pages.",
          unit: "short",
          decimals: 1,
          thresholds: [
            { color: "green", value: null },
            { color: "orange", value: 1 },
            { color: "red", value: 6 },
          ],
          targets: [{ expr: `max(${slo(sliErrorRatio("6h"))}) / ${budget}` }],
        },
      ],
      [
        {
          type: "timeseries",
          id: 5,
          title: "Error ratio (SLI) per window",
          description: `Share of failed runs over each burn-rate window, by graph. The budget is ${percent(budget)}.`,
          unit: "percentunit",
          min: 0,
          targets: windows.map((w) => ({ expr: `max by (graph) (${slo(sliErrorRatio(w))})`, legend: `{{graph}} ${w}` })),
        },
        {
          type: "timeseries",
          id: 6,
          title: "Burn rate per alert window",
          description:
            "Error ratio over each long alert window divided by the budgeted ratio. The alerts fire above 14.4 (1h), 6 (6h), 3 (1d) and 1 (3d) when the short window agrees.",
          unit: "short",
          min: 0,
          targets: BURN_WINDOWS.map((w) => ({
            expr: `max by (graph) (${slo(sliErrorRatio(w.long))}) / ${budget}`,
            legend: `{{graph}} ${w.long}`,
          })),
        },
        {
          type: "timeseries",
          id: 7,
          title: "Error budget left",
          description: `Share of the ${config.sloPeriod} error budget still unspent, by graph; negative once the SLO is missed.`,
          unit: "percentunit",
          targets: [{ expr: `min by (graph) (${slo(SLO_RECORDS.budgetRemaining)})`, legend: "{{graph}}" }],
        },
      ],
      [
        {
          type: "timeseries",
          id: 8,
          title: "Checkpoint operations/s",
          description: "Checkpointer calls per second by saver, operation (get, put, put_writes, list) and status.",
          unit: "ops",
          targets: [{ expr: sumRate(j(`${CP}_count`), "saver, operation, status"), legend: "{{saver}} {{operation}} {{status}}" }],
        },
        {
          type: "timeseries",
          id: 9,
          title: "Checkpoint latency p95 / p99",
          description: `Quantiles of checkpoint operation duration by saver and operation. The put p99 alert threshold is ${config.thresholds.checkpointPutP99Seconds}s.`,
          unit: "s",
          targets: ["0.95", "0.99"].map((q) => ({
            expr: quantile(q, j(`${CP}_bucket`), "saver, operation"),
            legend: `{{saver}} {{operation}} p${num(Number(q) * 100)}`,
          })),
        },
        {
          type: "timeseries",
          id: 10,
          title: "Checkpoint error ratio",
          description: "Share of checkpoint operations that threw, by saver and operation.",
          unit: "percentunit",
          min: 0,
          targets: [
            {
              expr: panelRatio(
                sumRate(j(`${CP}_count`, is("checkpointDuration", "status", "error")), "saver, operation"),
                sumRate(j(`${CP}_count`), "saver, operation"),
              ),
              legend: "{{saver}} {{operation}}",
            },
          ],
        },
      ],
      [
        {
          type: "timeseries",
          id: 11,
          title: "Checkpoint size p50 / p95",
          description: "Quantiles of the serialized size of checkpoints written, by saver.",
          unit: "bytes",
          width: 12,
          targets: ["0.5", "0.95"].map((q) => ({
            expr: quantile(q, j(metric("checkpointSize", "bucket")), "saver"),
            legend: `{{saver}} p${num(Number(q) * 100)}`,
          })),
        },
        {
          type: "bargauge",
          id: 12,
          title: "Mean checkpoint size by saver",
          description: "Average serialized checkpoint size over the dashboard's time range.",
          unit: "bytes",
          width: 12,
          targets: [
            {
              expr: `sum by (saver) (increase(${j(metric("checkpointSize", "sum"))}[$__range])) / sum by (saver) (increase(${j(metric("checkpointSize", "count"))}[$__range]))`,
              instant: true,
              legend: "{{saver}}",
            },
          ],
        },
      ],
    ]),
  });
}
