import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname } from "node:path";
import { Bench } from "tinybench";

/** One measured variant: an async operation run `batch` times per sample. */
export interface Variant {
  name: string;
  run: () => Promise<unknown>;
}

/** Mean cost per operation of each variant, measured in one process, interleaved by tinybench. */
export interface Measured {
  name: string;
  nsPerOp: number;
  rme: number;
  samples: number;
}

/** The machine line every results table carries. */
export function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `Node ${process.version}, ${cpus().length} × ${cpu.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}/${process.arch}`;
}

/**
 * Measures each variant with `batch` sequential awaited calls per sample, so the per-call cost is not drowned in
 * the harness's own per-sample overhead.
 */
export async function measure(variants: Variant[], options: { batch?: number; time?: number } = {}): Promise<Measured[]> {
  const batch = options.batch ?? 1000;
  const bench = new Bench({ time: options.time ?? 1500, warmup: true, warmupTime: 300 });
  for (const v of variants) {
    bench.add(v.name, async () => {
      for (let i = 0; i < batch; i += 1) await v.run();
    });
  }
  await bench.run();
  return bench.tasks.map((task) => {
    const result = task.result as unknown as { latency: { mean: number; rme: number; samplesCount?: number; samples?: number[] } };
    return {
      name: task.name,
      nsPerOp: (result.latency.mean * 1e6) / batch,
      rme: result.latency.rme,
      samples: result.latency.samplesCount ?? result.latency.samples?.length ?? 0,
    };
  });
}

/** A markdown table of `rows` with a ratio and an overhead column against the variant named `baseline`. */
export function table(rows: Measured[], baseline: string): string {
  const base = rows.find((r) => r.name === baseline);
  if (base === undefined) throw new Error(`no baseline ${baseline}`);
  const lines = ["| variant | ns/op | ± % | × bare | overhead ns/op |", "|---|---:|---:|---:|---:|"];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${r.nsPerOp.toFixed(0)} | ${r.rme.toFixed(1)} | ${(r.nsPerOp / base.nsPerOp).toFixed(2)} | ${(r.nsPerOp - base.nsPerOp).toFixed(0)} |`,
    );
  }
  return lines.join("\n");
}

/** Writes a results file (creating its folder). */
export function writeResults(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** A deterministic pseudo-random source (mulberry32), so reruns of a benchmark see the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
