/** The demo's end-of-run summary, computed from its own counts and the metrics registry. */
import type { Metrics } from "../../src/index.js";

/** Outcome counts kept by the request loop. */
export interface LoopCounts {
  started: number;
  success: number;
  error: number;
  interrupted: number;
  resumed: number;
  cancelled: number;
  durationsMs: number[];
}

/** Sum of every sample of a counter family in the registry (0 when absent). */
export async function counterTotal(metrics: Metrics, name: string, match: Record<string, string> = {}): Promise<number> {
  const metric = metrics.registry.getSingleMetric(`${metrics.prefix}${name}`);
  if (metric === undefined) return 0;
  const data = await metric.get();
  return data.values
    .filter((v) => Object.entries(match).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((total, v) => total + v.value, 0);
}

/** Sum and count of a histogram family (`name` without `_sum`/`_count`), full name, no prefix added. */
async function histogramTotals(metrics: Metrics, name: string): Promise<{ sum: number; count: number }> {
  const metric = metrics.registry.getSingleMetric(name);
  const out = { sum: 0, count: 0 };
  if (metric === undefined) return out;
  for (const v of (await metric.get()).values) {
    const series = (v as { metricName?: string }).metricName;
    if (series === `${name}_sum`) out.sum += v.value;
    else if (series === `${name}_count`) out.count += v.value;
  }
  return out;
}

/** Upper bound of the bucket holding quantile `q` of a histogram (all series summed): what Prometheus can tell apart. */
async function quantileBound(metrics: Metrics, name: string, q: number): Promise<number | undefined> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) return undefined;
  const byLe = new Map<number, number>();
  for (const v of (await metric.get()).values) {
    if ((v as { metricName?: string }).metricName !== `${name}_bucket`) continue;
    const le = v.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(v.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + v.value);
  }
  const sorted = [...byLe.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  return sorted.find(([, cumulative]) => cumulative >= q * total)?.[0];
}

const ms = (seconds: number | undefined): string =>
  seconds === undefined ? "-" : Number.isFinite(seconds) ? `${Math.round(seconds * 1000)} ms` : "> 82 s";

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Renders the summary table. */
const TTFC = "gen_ai_client_operation_time_to_first_chunk_seconds";

function perRun(totals: { sum: number; count: number }): string {
  return totals.count === 0 ? "-" : (totals.sum / totals.count).toFixed(6);
}

export async function summary(counts: LoopCounts, metrics: Metrics, payments: Map<string, number>): Promise<string> {
  const ttfc = await histogramTotals(metrics, TTFC);
  const rows: Array<[string, string]> = [
    ["runs started", String(counts.started)],
    ["succeeded", String(counts.success)],
    ["failed", String(counts.error)],
    ["interrupted (human approval)", `${counts.interrupted} (${counts.resumed} resumed)`],
    ["cancelled", String(counts.cancelled)],
    ["retries (withRetry + RetryPolicy)", String(await counterTotal(metrics, "node_retries_total"))],
    ["retries exhausted", String(await counterTotal(metrics, "node_retries_exhausted_total"))],
    ["timeouts", String(await counterTotal(metrics, "node_timeouts_total"))],
    ["fallbacks", String(await counterTotal(metrics, "node_fallbacks_total"))],
    ["bulkhead rejections", String(await counterTotal(metrics, "bulkhead_rejections_total"))],
    ["breaker trips (→ open)", String(await counterTotal(metrics, "circuit_breaker_transitions_total", { to: "open" }))],
    ["breaker rejections", String(await counterTotal(metrics, "circuit_breaker_rejections_total"))],
    ["payments made / refunds paid", `${[...payments.values()].reduce((a, b) => a + b, 0)} / ${payments.size}`],
    ["p50 / p95 run latency", `${percentile(counts.durationsMs, 50).toFixed(0)} ms / ${percentile(counts.durationsMs, 95).toFixed(0)} ms`],
    ["LLM cost (example prices)", `$${(await counterTotal(metrics, "llm_cost_usd_total")).toFixed(4)}`],
    ["LLM cost per fully priced run (mean)", `$${perRun(await histogramTotals(metrics, `${metrics.prefix}llm_run_cost_usd`))}`],
    ["unpriced tokens (support-gpt-nano)", String(await counterTotal(metrics, "llm_unpriced_tokens_total"))],
    ["streamed LLM calls", String(ttfc.count)],
    [
      "time to first token mean / p95 ≤",
      `${ms(ttfc.count > 0 ? ttfc.sum / ttfc.count : undefined)} / ${ms(await quantileBound(metrics, TTFC, 0.95))}`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return ["", "Summary", "-------", ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join("\n");
}
