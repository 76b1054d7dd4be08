/**
 * 1,000 concurrent graph runs of the 10-node graph: throughput and latency percentiles of the bare graph, the graph
 * with a no-op callback handler (the floor of any callback-based tool) and the full kit (instrument with metrics +
 * tracing + logs, resilient nodes). The variants' bursts alternate, and the medians over bursts are reported. Prints a markdown section; `bench/run.ts` collects it into bench/RESULTS.md.
 */
import { BatchSpanProcessor, InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createLogger, createMetrics, instrument } from "../src/index.js";
import { chainGraph, type Invokable, NoopHandler, resilientNodes } from "./graph-overhead.bench.js";
import { machine } from "./support.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 100_000 })] });
provider.register();

interface Burst {
  seconds: number;
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Starts `size` invokes at once; returns the wall time of the burst and the per-run latency percentiles (ms). */
async function burst(graph: Invokable, size: number): Promise<Burst> {
  const latencies = new Array<number>(size);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: size }, async (_, i) => {
      const start = performance.now();
      await graph.invoke({ n: 0 });
      latencies[i] = performance.now() - start;
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** Runs the alternating bursts and returns the markdown section. */
export async function concurrency(size: number, bursts: number): Promise<string> {
  const bare = chainGraph(10);
  const kit = instrument(chainGraph(10, resilientNodes("bench-concurrency")) as never, {
    metrics: createMetrics(),
    tracing: true,
    logger: createLogger({ destination: { write: () => undefined } }),
    name: "bench",
  }) as Invokable;
  const floor = (chainGraph(10) as unknown as { withConfig(c: unknown): Invokable }).withConfig({ callbacks: [new NoopHandler()] });
  const graphs = { bare, floor, kit };
  const results: Record<keyof typeof graphs, Burst[]> = { bare: [], floor: [], kit: [] };
  const names = Object.keys(graphs) as Array<keyof typeof graphs>;
  for (const name of names) await burst(graphs[name], 50);
  for (let i = 0; i < bursts; i++) {
    // Each burst round starts from another variant.
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length] as keyof typeof graphs;
      results[name].push(await burst(graphs[name], size));
      await provider.forceFlush();
      exporter.reset();
    }
  }
  const row = (label: string, b: Burst[]) => {
    const seconds = median(b.map((x) => x.seconds));
    return { label, throughput: size / seconds, p50: median(b.map((x) => x.p50)), p99: median(b.map((x) => x.p99)) };
  };
  const rows = [
    row("bare graph", results.bare),
    row("no-op callback handler (floor)", results.floor),
    row("full kit (metrics + tracing + logs + resilient nodes)", results.kit),
  ];
  const base = rows[0] as (typeof rows)[number];
  const floorRow = rows[1] as (typeof rows)[number];
  const lines = [
    "## 3. Concurrency",
    "",
    `${size} invokes of the 10-node graph started at once; ${bursts} burst(s) per variant (median), variants alternating (wall time).`,
    "",
    "| variant | runs/s | × bare throughput | p50 ms | p99 ms | × bare p99 | × floor p99 |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.label} | ${r.throughput.toFixed(0)} | ${(r.throughput / base.throughput).toFixed(2)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${(r.p99 / base.p99).toFixed(2)} | ${(r.p99 / floorRow.p99).toFixed(2)} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = await concurrency(Number(process.env.BENCH_CONCURRENCY ?? 1000), Number(process.env.BENCH_BURSTS ?? 3));
  process.stdout.write(`<!-- ${machine()} -->\n${text}\n`);
  await provider.shutdown();
}
