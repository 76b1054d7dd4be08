/** Renders the scenarios as `promtool test rules` files under alerts/tests/, one file per alert name. */
import { alertDefinitions } from "../rules/alerts.js";
import type { MixinConfig } from "../config.js";
import { GENERATED_HEADER, toYaml } from "../render.js";
import type { AlertingRule } from "../rules/types.js";
import type { AlertScenarios, ExpectedAlert } from "./model.js";
import { alertScenarios } from "./scenarios.js";

/** Rule groups in dependency order: alerts read recording rules of the other groups (see promtool's group_eval_order). */
export const GROUP_EVAL_ORDER = ["langgraph.rules", "langgraph.slo.rules", "langgraph.alerts"];

/** `LangGraphRunsStuck` → `langgraph-runs-stuck`. */
export function testFileName(alert: string): string {
  return alert
    .replace(/^LangGraph/, "langgraph-")
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/LLM/g, "llm-")
    .toLowerCase()
    .replace(/-+/g, "-")
    .replace(/-$/, "");
}

function seriesText(metric: string, labels: Record<string, string>): string {
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(", ");
  return `${metric}{${body}}`;
}

function pickRule(rules: AlertingRule[], alert: string, expected: ExpectedAlert): AlertingRule {
  const matches = rules.filter((r) => r.alert === alert && Object.entries(expected.variant ?? {}).every(([k, v]) => r.labels[k] === v));
  if (matches.length !== 1)
    throw new Error(`${alert}: expected one rule for variant ${JSON.stringify(expected.variant)}, found ${matches.length}`);
  return matches[0] as AlertingRule;
}

function minutes(value: number): string {
  return `${value}m`;
}

/** One promtool test file (as an object) for one alert's scenarios. */
export function promtoolTestFile(rules: AlertingRule[], { alert, scenarios }: AlertScenarios): object {
  if (!rules.some((r) => r.alert === alert)) throw new Error(`scenarios for unknown alert ${alert}`);
  return {
    rule_files: ["../prometheus_rules.yaml", "../prometheus_alerts.yaml"],
    evaluation_interval: "1m",
    group_eval_order: GROUP_EVAL_ORDER,
    tests: scenarios.map((scenario) => ({
      name: `${alert}: ${scenario.name}`,
      interval: "1m",
      input_series: scenario.series.map((x) => ({ series: seriesText(x.metric, x.labels), values: x.values })),
      alert_rule_test: scenario.checks.map((check) => ({
        eval_time: minutes(check.atMinutes),
        alertname: alert,
        exp_alerts: check.firing.map((expected) => {
          const rule = pickRule(rules, alert, expected);
          return {
            exp_labels: { ...rule.labels, ...expected.labels },
            exp_annotations: {
              summary: rule.annotations.summary,
              description: expected.description,
              runbook_url: rule.annotations.runbook_url,
            },
          };
        }),
      })),
    })),
  };
}

/** Generated promtool test files keyed by repository path; throws when an alert has no scenarios. */
export function alertTestFiles(config: MixinConfig): Record<string, string> {
  const rules = alertDefinitions(config).map((d) => d.rule);
  const all = alertScenarios(config);
  const missing = [...new Set(rules.map((r) => r.alert))].filter((name) => !all.some((s) => s.alert === name));
  if (missing.length > 0) throw new Error(`alerts without promtool scenarios: ${missing.join(", ")}`);
  const files: Record<string, string> = {};
  for (const scenarios of all)
    files[`alerts/tests/${testFileName(scenarios.alert)}.yaml`] = GENERATED_HEADER + toYaml(promtoolTestFile(rules, scenarios));
  return files;
}

export { alertScenarios } from "./scenarios.js";
export type { AlertScenarios, Check, ExpectedAlert, InputSeries, Scenario } from "./model.js";
