/** PromQL fragments shared by the dashboards: variable-filtered selectors and the usual rate/ratio/quantile shapes. */

/** Matchers every panel query carries. */
const BASE = ['job=~"$job"', 'instance=~"$instance"'];

/** `metric{job=~"$job", instance=~"$instance", graph=~"$graph", ...extra}` for metrics with a `graph` label. */
export function g(metric: string, ...extra: string[]): string {
  return `${metric}{${[...BASE, 'graph=~"$graph"', ...extra].join(", ")}}`;
}

/** `metric{job=~"$job", instance=~"$instance", ...extra}` for metrics without a `graph` label (breakers, LLM, checkpoints). */
export function j(metric: string, ...extra: string[]): string {
  return `${metric}{${[...BASE, ...extra].join(", ")}}`;
}

/** `rate(selector[$__rate_interval])`. */
export function rate(selector: string): string {
  return `rate(${selector}[$__rate_interval])`;
}

/** `sum by (labels) (rate(selector[$__rate_interval]))`; no `by` when `labels` is empty. */
export function sumRate(selector: string, labels = ""): string {
  return `sum${labels === "" ? "" : ` by (${labels})`} (${rate(selector)})`;
}

/** `errors / total` that reads 0 (not "no data") while no error series exists yet. */
export function ratio(errors: string, total: string): string {
  return `(${errors} or ${total} * 0) / ${total}`;
}

/** `histogram_quantile(q, sum by (labels, le) (rate(bucket[$__rate_interval])))`. */
export function quantile(q: string, bucket: string, labels = ""): string {
  return `histogram_quantile(${q}, sum by (${labels === "" ? "le" : `${labels}, le`}) (${rate(bucket)}))`;
}
