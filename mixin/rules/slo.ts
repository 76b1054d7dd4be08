/**
 * SLO recording rules for the availability of graph runs, in Sloth's shape: the error ratio over each burn-rate
 * window, the event rate that backs the minimum-traffic guard, the objective and the budget left in the period.
 * A run is an event unless it was cancelled by its caller; it is bad when its status is `error` (interrupts are
 * a normal outcome, not a failure).
 */
import { is, metric } from "../catalogue.js";
import type { MixinConfig } from "../config.js";
import { num, selector } from "../promql.js";
import type { RecordingRule, RuleGroup } from "./types.js";

/** The `slo` label value of the availability SLO. */
export const SLO_NAME = "langgraph-graph-run-availability";

/** Windows an error ratio is recorded for (SRE workbook multiwindow pairs). */
export const SLO_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] as const;

/** A recorded SLO window. */
export type SloWindow = (typeof SLO_WINDOWS)[number];

/** Record name of the error ratio over `window`. */
export const sliErrorRatio = (window: string): string => `slo:sli_error:ratio_rate${window}`;
/** Record name of the event (valid run) rate over `window`. */
export const sliEventsRate = (window: string): string => `slo:sli_events:rate${window}`;
/** Record names of the objective, the budget and the budget left in the period. */
export const SLO_RECORDS = {
  objective: "slo:objective:ratio",
  errorBudget: "slo:error_budget:ratio",
  budgetRemaining: "slo:period_error_budget_remaining:ratio",
} as const;

/** The `langgraph.slo.rules` group. */
export function sloRules(config: MixinConfig): RuleGroup<RecordingRule> {
  const budget = num(1 - config.sloTarget);
  const labels = (window: string) => ({ slo: SLO_NAME, slo_window: window });
  const events = (window: string) =>
    `sum by (job, graph) (rate(${metric("graphRuns")}${selector(config, `status!="cancelled"`)}[${window}]))`;
  const errors = (window: string) =>
    `sum by (job, graph) (rate(${metric("graphRuns")}${selector(config, is("graphRuns", "status", "error"))}[${window}]))`;
  const perWindow = SLO_WINDOWS.flatMap((w): RecordingRule[] => [
    { record: sliEventsRate(w), expr: events(w), labels: labels(w) },
    { record: sliErrorRatio(w), expr: `(\n  ${errors(w)}\n  or\n  0 * ${events(w)}\n)\n/\n${events(w)}`, labels: labels(w) },
  ]);
  const p = config.sloPeriod;
  return {
    name: "langgraph.slo.rules",
    rules: [
      ...perWindow,
      {
        record: sliErrorRatio(p),
        expr: `sum_over_time(${sliErrorRatio("5m")}{slo="${SLO_NAME}"}[${p}])\n/\ncount_over_time(${sliErrorRatio("5m")}{slo="${SLO_NAME}"}[${p}])`,
        labels: labels(p),
      },
      { record: SLO_RECORDS.objective, expr: `vector(${num(config.sloTarget)})`, labels: { slo: SLO_NAME } },
      { record: SLO_RECORDS.errorBudget, expr: `vector(${budget})`, labels: { slo: SLO_NAME } },
      {
        record: SLO_RECORDS.budgetRemaining,
        expr: `1 - ${sliErrorRatio(p)}{slo="${SLO_NAME}"} / ${budget}`,
        labels: labels(p),
      },
    ],
  };
}
