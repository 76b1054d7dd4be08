/**
 * `/metrics` render time and heap at 1k, 10k and 100k series. The registry is filled the way an instrumented
 * process fills it: per (graph, node) a node-execution counter and a node-duration histogram (16 buckets + sum +
 * count), so "series" is the number of sample lines in the exposition. Prints a markdown section; `bench/run.ts`
 * collects it into bench/RESULTS.md. Run with `--expose-gc` for the heap column.
 */
import type { Counter, Histogram } from "prom-client";
import { createMetrics } from "../src/index.js";
import { machine } from "./support.js";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

function heapAfterGc(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return undefined;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Sample lines per (graph, node): 1 counter + 16 histogram buckets (15 + Inf) + sum + count. */
const LINES_PER_NODE = 19;

async function renderAt(series: number, renders: number) {
  const before = heapAfterGc();
  // Cardinality here is the benchmark's subject, so the per-label fold-in is lifted.
  const metrics = createMetrics({ maxLabelValues: 1_000_000 });
  const executions = metrics.registry.getSingleMetric("langgraph_node_executions_total") as Counter<string>;
  const duration = metrics.registry.getSingleMetric("langgraph_node_duration_seconds") as Histogram<string>;
  const nodes = Math.ceil(series / LINES_PER_NODE);
  for (let i = 0; i < nodes; i++) {
    const labels = { graph: `g${i % 50}`, node: `node_${i}`, status: "success" };
    executions.inc(labels);
    duration.observe(labels, (i % 100) / 100);
  }
  const text = await metrics.text();
  const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
  const heap = heapAfterGc();
  const times: number[] = [];
  for (let r = 0; r < renders; r++) {
    const t0 = performance.now();
    await metrics.text();
    times.push(performance.now() - t0);
  }
  metrics.close();
  return {
    series,
    lines,
    ms: median(times),
    bytes: text.length,
    heapMiB: before !== undefined && heap !== undefined ? (heap - before) / 2 ** 20 : undefined,
  };
}

/** Renders at each size and returns the markdown section. */
export async function metricsRender(): Promise<string> {
  const rows = [];
  for (const [series, renders] of [
    [1_000, 51],
    [10_000, 21],
    [100_000, 5],
  ] as const) {
    rows.push(await renderAt(series, renders));
  }
  const lines = [
    "## 4. /metrics render",
    "",
    "`metrics.text()` (what `/metrics` sends), median render time; heap = retained by the populated registry after GC.",
    "",
    "| target series | sample lines | exposition KiB | render ms (median) | heap MiB |",
    "|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.series.toLocaleString("en")} | ${r.lines.toLocaleString("en")} | ${(r.bytes / 1024).toFixed(0)} | ${r.ms.toFixed(1)} | ${r.heapMiB === undefined ? "n/a (no --expose-gc)" : r.heapMiB.toFixed(1)} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`<!-- ${machine()} -->\n${await metricsRender()}\n`);
}
