/** Plain shapes of Prometheus rule files, as the generators build them. */

/** A recording rule. */
export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

/** Severity of an alert: `critical` pages, `warning` makes a ticket, `info` only informs. */
export type Severity = "critical" | "warning" | "info";

/** An alerting rule as written to the rule file. */
export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: Severity } & Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
}

/** A rule group. */
export interface RuleGroup<R> {
  name: string;
  rules: R[];
}

/** A Prometheus rule file. */
export interface RuleFile<R> {
  groups: Array<RuleGroup<R>>;
}
