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

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Renders the summary table. */
export async function summary(counts: LoopCounts, metrics: Metrics, payments: Map<string, number>): Promise<string> {
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
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return ["", "Summary", "-------", ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join("\n");
}
