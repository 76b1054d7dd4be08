/** Entry point of the rule generator: every rule file, the runbook and the PrometheusRule from one config. */
import { alertDefinitions, alertRules } from "./alerts.js";
import type { MixinConfig } from "../config.js";
import { prometheusRule } from "./kubernetes.js";
import { recordingRules } from "./recording.js";
import { GENERATED_HEADER, toYaml } from "../render.js";
import { renderRunbook } from "./runbook.js";
import { sloRules } from "./slo.js";
import type { AlertingRule, RecordingRule, RuleFile } from "./types.js";

/** The rule files as objects. */
export function ruleFiles(config: MixinConfig): { rules: RuleFile<RecordingRule>; alerts: RuleFile<AlertingRule> } {
  return {
    rules: { groups: [recordingRules(config), sloRules(config)] },
    alerts: { groups: [alertRules(config)] },
  };
}

/** Generated files under alerts/, keyed by path relative to the repository root. */
export function alertFiles(config: MixinConfig): Record<string, string> {
  const { rules, alerts } = ruleFiles(config);
  return {
    "alerts/prometheus_rules.yaml": GENERATED_HEADER + toYaml(rules),
    "alerts/prometheus_alerts.yaml": GENERATED_HEADER + toYaml(alerts),
    "alerts/kubernetes/prometheusrule.yaml": GENERATED_HEADER + toYaml(prometheusRule([...rules.groups, ...alerts.groups])),
    "alerts/RUNBOOK.md": renderRunbook(alertDefinitions(config)),
  };
}

export { alertDefinitions, alertRules, runbookAnchor, BURN_WINDOWS, type AlertDefinition, type RunbookEntry } from "./alerts.js";
export {
  defaultConfig,
  resolveConfig,
  durationSeconds,
  type MixinConfig,
  type MixinConfigInput,
  type AlertKey,
  type Thresholds,
} from "../config.js";
export { recordingRules, RECORDED, QUANTILES } from "./recording.js";
export { sloRules, SLO_NAME, SLO_WINDOWS, SLO_RECORDS, sliErrorRatio, sliEventsRate } from "./slo.js";
export type { AlertingRule, RecordingRule, RuleFile, RuleGroup, Severity } from "./types.js";
