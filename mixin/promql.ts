/**
 * The PromQL helper library of the mixin: selectors (every query carries the configured one), ratios, quantiles and
 * the number formatting shared by rules, alerts and dashboards.
 */
import type { MixinConfig } from "./config.js";

/** A label-matcher list: `{a="1",b=~"x"}` with the configured selector appended; `{}` collapses to nothing. */
export function selector(config: Pick<MixinConfig, "selector">, ...matchers: string[]): string {
  const all = [...matchers, config.selector].filter((m) => m !== "");
  return all.length === 0 ? "" : `{${all.join(", ")}}`;
}

/** `value` without float noise (1 - 0.995 → 0.005, not 0.0050000000000000044). */
export function clean(value: number): number {
  return Number(value.toPrecision(12));
}

/** A number printed the way PromQL and YAML show it, without float noise. */
export function num(value: number): string {
  return String(clean(value));
}

/** A ratio as a percentage without float noise (0.07 → "7%", 0.995 → "99.5%"). */
export function percent(ratio: number): string {
  return `${num(ratio * 100)}%`;
}

/**
 * Rule form of `errors / total`: 0 rather than absent when no error series exists yet (counters with labels appear
 * only on their first increment), so a healthy target still has a ratio.
 */
export function ratio(errors: string, total: string): string {
  return `(\n  ${errors}\n  or\n  0 * ${total}\n)\n/\n${total}`;
}

/** Matchers every panel query carries: the dashboard variables, then the configured selector. */
function panelMatchers(config: Pick<MixinConfig, "selector">, extra: string[]): string {
  return [...extra, config.selector].filter((m) => m !== "").join(", ");
}

/** Panel selectors bound to one config: `g` for series with a `graph` label, `j` for the others. */
export interface PanelSelectors {
  /** `metric{job=~"$job", instance=~"$instance", graph=~"$graph", ...extra, <selector>}`. */
  g(metric: string, ...extra: string[]): string;
  /** `metric{job=~"$job", instance=~"$instance", ...extra, <selector>}` (breakers, LLM, checkpoints). */
  j(metric: string, ...extra: string[]): string;
}

/** The panel selectors of `config`. */
export function panelSelectors(config: Pick<MixinConfig, "selector">): PanelSelectors {
  const base = ['job=~"$job"', 'instance=~"$instance"'];
  return {
    g: (metric, ...extra) => `${metric}{${panelMatchers(config, [...base, 'graph=~"$graph"', ...extra])}}`,
    j: (metric, ...extra) => `${metric}{${panelMatchers(config, [...base, ...extra])}}`,
  };
}

/** `rate(selector[$__rate_interval])`. */
export function rate(selector: string): string {
  return `rate(${selector}[$__rate_interval])`;
}

/** `sum by (labels) (rate(selector[$__rate_interval]))`; no `by` when `labels` is empty. */
export function sumRate(selector: string, labels = ""): string {
  return `sum${labels === "" ? "" : ` by (${labels})`} (${rate(selector)})`;
}

/** Panel form of `errors / total`, on one line, that reads 0 (not "no data") while no error series exists yet. */
export function panelRatio(errors: string, total: string): string {
  return `(${errors} or ${total} * 0) / ${total}`;
}

/** `histogram_quantile(q, sum by (labels, le) (rate(bucket[$__rate_interval])))`. */
export function quantile(q: string, bucket: string, labels = ""): string {
  return `histogram_quantile(${q}, sum by (${labels === "" ? "le" : `${labels}, le`}) (${rate(bucket)}))`;
}
