/** Renders the rules as a `PrometheusRule` for the Prometheus Operator (kube-prometheus-stack). */
import type { AlertingRule, RecordingRule, RuleGroup } from "./types.js";

/** Options of {@link prometheusRule}. */
export interface PrometheusRuleOptions {
  name?: string;
  namespace?: string;
  /** Labels the operator's `ruleSelector` matches; kube-prometheus-stack selects `release: <helm release>` by default. */
  labels?: Record<string, string>;
}

/** A `monitoring.coreos.com/v1` PrometheusRule holding `groups`. */
export function prometheusRule(
  groups: Array<RuleGroup<RecordingRule> | RuleGroup<AlertingRule>>,
  options: PrometheusRuleOptions = {},
): object {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: {
      name: options.name ?? "langgraph-ops",
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      labels: { "app.kubernetes.io/name": "langgraph-ops", release: "kube-prometheus-stack", ...options.labels },
    },
    spec: { groups },
  };
}
