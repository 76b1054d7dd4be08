/**
 * PromQL analysis for the dashboard linter and the metric cross-check, on top of @prometheus-io/lezer-promql
 * (the parser of the Prometheus UI). Grafana variables are substituted first: lezer cannot parse `$var`.
 */
import { parser } from "@prometheus-io/lezer-promql";

/** One vector selector found in an expression. */
export interface SelectorUse {
  /** Metric name, or undefined for `{__name__=~…}`-only selectors. */
  metric: string | undefined;
  /** Label matchers as written, e.g. `{ name: "job", op: "=~", value: "$job" }` (value unquoted). */
  matchers: Array<{ name: string; op: string; value: string }>;
  /** Function names enclosing the selector, innermost first. */
  functions: string[];
  /** Range of the enclosing matrix selector (`[5m]`), if any, as written after substitution. */
  range: string | undefined;
}

/** Result of {@link analyse}. */
export interface Analysis {
  /** Empty when the expression parses. */
  errors: string[];
  selectors: SelectorUse[];
}

/** The duration `$__rate_interval` becomes before parsing; unusual so a literal range cannot be mistaken for it. */
export const RATE_INTERVAL_SENTINEL = "4321ms";

/**
 * Replaces Grafana's interval variables so the text parses; template variables inside label-matcher strings
 * (`job=~"$job"`) stay as written so the linter can check them. With `variable`, template variables are replaced too
 * (for sending the query to Prometheus).
 */
export function substituteVariables(
  expr: string,
  values: { rateInterval?: string; range?: string; interval?: string; variable?: string } = {},
): string {
  const out = expr
    .replaceAll("$__rate_interval", values.rateInterval ?? RATE_INTERVAL_SENTINEL)
    .replaceAll("$__range", values.range ?? "1h")
    .replaceAll("$__interval", values.interval ?? "1m");
  return values.variable === undefined ? out : out.replace(/\$\{(\w+)\}|\$(\w+)/g, values.variable);
}

function unquote(text: string): string {
  const quote = text[0];
  if (quote === "`") return text.slice(1, -1);
  return JSON.parse(quote === "'" ? `"${text.slice(1, -1).replaceAll('"', '\\"')}"` : text) as string;
}

/** Parses `expr` (already substituted) and lists its selectors with their context. */
export function analyse(expr: string): Analysis {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: SelectorUse[] = [];
  tree.iterate({
    enter(ref) {
      if (ref.type.isError)
        errors.push(`syntax error at ${ref.from}: ${JSON.stringify(expr.slice(Math.max(0, ref.from - 20), ref.to + 20))}`);
      if (ref.name !== "VectorSelector") return;
      const node = ref.node;
      const metricNode = node.getChild("Identifier");
      const matchers: SelectorUse["matchers"] = [];
      const list = node.getChild("LabelMatchers");
      for (let m = list?.firstChild ?? null; m !== null; m = m.nextSibling) {
        const name = m.getChild("LabelName") ?? m.getChild("QuotedLabelName");
        const op = m.getChild("MatchOp");
        const value = m.getChild("StringLiteral");
        if (name === null || op === null || value === null) continue;
        matchers.push({
          name: expr.slice(name.from, name.to),
          op: expr.slice(op.from, op.to),
          value: unquote(expr.slice(value.from, value.to)),
        });
      }
      const functions: string[] = [];
      let range: string | undefined;
      for (let p = node.parent; p !== null; p = p.parent) {
        if (p.name === "MatrixSelector" && range === undefined) {
          const d = p.getChild("DurationExpr") ?? p.lastChild;
          if (d !== null) range = expr.slice(d.from, d.to);
        }
        if (p.name === "FunctionCall") {
          const id = p.getChild("FunctionIdentifier");
          if (id !== null) functions.push(expr.slice(id.from, id.to));
        }
        if (p.name === "AggregateExpr") {
          const op = p.getChild("AggregateOp");
          if (op !== null) functions.push(expr.slice(op.from, op.to));
        }
      }
      const nameMatcher = matchers.find((m) => m.name === "__name__" && m.op === "=");
      selectors.push({
        metric: metricNode === null ? nameMatcher?.value : expr.slice(metricNode.from, metricNode.to),
        matchers,
        functions,
        range,
      });
    },
  });
  return { errors, selectors };
}

/** Histogram/summary series suffixes that belong to a base metric family. */
const SERIES_SUFFIXES = ["_bucket", "_sum", "_count", "_created"];

/** The metric family a series name belongs to, given the known family names (`foo_bucket` → `foo`). */
export function familyOf(series: string, families: ReadonlySet<string>): string | undefined {
  if (families.has(series)) return series;
  for (const suffix of SERIES_SUFFIXES) {
    if (series.endsWith(suffix) && families.has(series.slice(0, -suffix.length))) return series.slice(0, -suffix.length);
  }
  return undefined;
}

/** Metric names used by an expression (after substitution). */
export function metricNames(expr: string): string[] {
  return analyse(substituteVariables(expr)).selectors.flatMap((s) => (s.metric === undefined ? [] : [s.metric]));
}
