/**
 * Fault workload: graph runs through `instrument(graph, { metrics, tracing: true, logger })` with resilient nodes and
 * injected transient errors, hangs (timeouts), a dependency outage behind a shared circuit breaker, interrupts
 * (resumed or left) and aborts, from concurrent callers. Every caller records what its run returned, which is the
 * ground truth the metrics, spans and gauges are compared with.
 *
 * Run as a child process with `--expose-gc`:
 *   node --expose-gc --import tsx bench/memory.bench.ts --runs 5000 --json   (the soak test: one JSON line)
 *   node --expose-gc --import tsx bench/memory.bench.ts --bench --runs 100000 (heap after 1k vs N runs, markdown;
 *                                                                             default N: BENCH_MEMORY_RUNS or 10,000)
 */
import { Writable } from "node:stream";
import { Annotation, Command, END, interrupt, type LangGraphRunnableConfig, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import { trace } from "@opentelemetry/api";
import type { Context } from "@opentelemetry/api";
import { BatchSpanProcessor, InMemorySpanExporter, type ReadableSpan, type Span, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import type { Logger } from "pino";
import {
  CircuitOpenError,
  createCircuitBreaker,
  createMetrics,
  type InstrumentOptions,
  instrument,
  type Metrics,
  resilient,
} from "../src/index.js";
import { createLogger } from "../src/observability/logging.js";
import { openRunCount } from "../src/observability/tracing/registry.js";
import { seededRandom } from "./support.js";

/** What a run was set up to do. */
export type Fault = "ok" | "transient" | "hang" | "permanent" | "exhaust" | "outage" | "interrupt" | "interrupt-resume" | "abort";

const FAULTS: readonly Fault[] = ["transient", "hang", "permanent", "exhaust", "outage", "interrupt", "interrupt-resume", "abort"];

/** How one invoke ended, as its caller saw it. */
export type Outcome = "success" | "error" | "interrupted" | "cancelled";

/** The outcome each plan must end with, unless the shared dependency was down or its breaker open. */
const EXPECTED: Record<Fault, Outcome> = {
  ok: "success",
  transient: "success",
  hang: "success",
  permanent: "error",
  exhaust: "error",
  outage: "error",
  interrupt: "interrupted",
  "interrupt-resume": "interrupted",
  abort: "cancelled",
};

/** Which parts of the kit instrument the graph: everything, one part, or nothing (the bare graph). */
export type KitParts = "full" | "metrics" | "tracing" | "logs" | "none";

function kitOptions(parts: KitParts, metrics: Metrics, logger: Logger): InstrumentOptions {
  if (parts === "none") return { name: "soak" };
  if (parts === "metrics") return { metrics, name: "soak" };
  if (parts === "tracing") return { tracing: true, name: "soak" };
  if (parts === "logs") return { logger, name: "soak" };
  return { metrics, tracing: true, logger, name: "soak" };
}

/** Options of {@link runFaultWorkload}. */
export interface WorkloadOptions {
  /** Runs started in total (resumes count as runs). */
  runs: number;
  /** Concurrent callers. */
  concurrency: number;
  /** Probability that a run gets a fault. */
  faultRate: number;
  /** Parts of the kit attached by `instrument()`. Default "full". */
  kit?: KitParts;
  /** Seed of the fault plan. */
  seed: number;
  /**
   * Called between phases of `phase` runs, with nothing in flight, with the number of runs done so far (the heap is
   * sampled there, so it measures what the kit retains rather than the runs in progress).
   */
  onPhase?: (done: number) => void;
  phase?: number;
}

/** What the workload observed and what the kit reported. */
export interface WorkloadReport {
  started: number;
  outcomes: Record<Outcome, number>;
  /** Outcomes that contradict the plan (e.g. an abort run that succeeded); always empty when the kit is right. */
  unexpected: string[];
  /** `langgraph_graph_runs_total` by status. */
  runsTotal: Record<string, number>;
  inFlight: number;
  /** `langgraph_node_timeouts_total`, `..._retries_exhausted_total`, `..._interrupts_total` summed over nodes. */
  timeouts: number;
  retriesExhausted: number;
  interrupts: number;
  /** Ground truth for the three counters above. */
  expectedTimeouts: number;
  expectedExhausted: number;
  expectedInterrupts: number;
  breakerRejections: number;
  observedRejections: number;
  breakerTransitions: Record<string, number>;
  spansStarted: number;
  spansEnded: number;
  rootSpans: number;
  /** Spans the in-memory exporter received. */
  spansExported: number;
  openTracingRuns: number;
}

function httpError(status: number): Error {
  return Object.assign(new Error(`HTTP ${status}`), { status });
}

const State = Annotation.Root({
  key: Annotation<string>({ reducer: (_a, b) => b, default: () => "" }),
  fault: Annotation<string>({ reducer: (_a, b) => b, default: () => "ok" }),
  n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
});
type S = typeof State.State;

/** Counts span starts and ends: every started span must end. */
class CountingProcessor implements SpanProcessor {
  started = 0;
  ended = 0;
  roots = 0;
  onStart(_span: Span, _context: Context): void {
    this.started += 1;
  }
  onEnd(span: ReadableSpan): void {
    this.ended += 1;
    if (span.parentSpanContext === undefined) this.roots += 1;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function sumOf(
  values: { value: number; labels: Record<string, string | number> }[],
  filter?: (l: Record<string, string | number>) => boolean,
) {
  let total = 0;
  for (const v of values) if (filter === undefined || filter(v.labels)) total += v.value;
  return total;
}

/** Runs the fault workload once and reports what the callers saw next to what the kit recorded. */
export async function runFaultWorkload(options: WorkloadOptions): Promise<WorkloadReport> {
  const random = seededRandom(options.seed);
  const counting = new CountingProcessor();
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [counting, new BatchSpanProcessor(exporter)] });
  provider.register();
  const metrics = createMetrics();
  const sink = new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  const logger = createLogger({ level: "info", destination: sink });

  // Per-run scratch state the node functions read: attempt numbers and the abort hook. Deleted when the run ends.
  const attempts = new Map<string, number>();
  const aborters = new Map<string, () => void>();
  let expectedTimeouts = 0;
  let expectedExhausted = 0;
  let expectedInterrupts = 0;
  let observedRejections = 0;

  const attemptOf = (key: string): number => {
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    return n;
  };
  const untilAborted = (signal: AbortSignal | undefined): Promise<never> =>
    new Promise((_resolve, reject) => {
      if (signal === undefined) return;
      if (signal.aborted) reject(signal.reason);
      else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });

  const prepare = async (s: S, config: LangGraphRunnableConfig): Promise<Partial<S>> => {
    const attempt = attemptOf(s.key);
    switch (s.fault) {
      case "transient":
        if (attempt === 1) throw httpError(503);
        break;
      case "hang":
        // The first attempt ignores its signal and never settles; the timeout wrapper must give up on it.
        if (attempt === 1) return new Promise<never>(() => {});
        break;
      case "permanent":
        throw httpError(400);
      case "exhaust":
        throw httpError(503);
      case "abort":
        aborters.get(s.key)?.();
        return untilAborted(config.signal);
    }
    return { n: s.n + 1 };
  };

  let outage = false;
  const breaker = createCircuitBreaker({
    name: "soak-dependency",
    volumeThreshold: 4,
    errorThresholdPercentage: 10,
    rollingCountTimeout: 1000,
    resetTimeout: 5,
  });
  const outageHit = new Set<string>();
  const callDependency = async (s: S): Promise<Partial<S>> => {
    if (outage) outageHit.add(s.key);
    if (outage || s.fault === "outage") throw httpError(503);
    return { n: s.n + 1 };
  };
  const guardedDependency = resilient(callDependency, { circuitBreaker: breaker, timeout: 1000 });
  const review = (s: S): Partial<S> => {
    if (s.fault === "interrupt" || s.fault === "interrupt-resume") {
      const approved = interrupt({ question: "approve?" }) as boolean;
      return { n: approved ? s.n + 1 : s.n };
    }
    return { n: s.n + 1 };
  };

  const checkpointer = new MemorySaver();
  const graph = instrument(
    new StateGraph(State)
      .addNode("prepare", resilient(prepare, { timeout: 25, retry: { retries: 2, minDelayMs: 1, maxDelayMs: 4 } }))
      .addNode("call_dependency", async (s: S, config: LangGraphRunnableConfig) => {
        try {
          return await guardedDependency(s, config);
        } catch (error) {
          if (error instanceof CircuitOpenError) observedRejections += 1;
          throw error;
        }
      })
      .addNode("review", review)
      .addEdge(START, "prepare")
      .addEdge("prepare", "call_dependency")
      .addEdge("call_dependency", "review")
      .addEdge("review", END)
      .compile({ checkpointer }),
    kitOptions(options.kit ?? "full", metrics, logger),
  );

  const outcomes: Record<Outcome, number> = { success: 0, error: 0, interrupted: 0, cancelled: 0 };
  const unexpected: string[] = [];
  let started = 0;
  let planned = 0;
  let exported = 0;

  const record = (key: string, fault: Fault, outcome: Outcome, error: unknown): void => {
    outcomes[outcome] += 1;
    // The shared dependency may be down (outage window) or its breaker open for any run that reaches it.
    if (outcome === "error" && (error instanceof CircuitOpenError || outageHit.has(key))) return;
    if (EXPECTED[fault] !== outcome) unexpected.push(`${fault} → ${outcome}: ${String((error as Error | undefined)?.message)}`);
  };

  const one = async (index: number): Promise<void> => {
    const fault: Fault = random() < options.faultRate ? (FAULTS[Math.floor(random() * FAULTS.length)] as Fault) : "ok";
    // Outages come and go: 100 runs out of every 500 in which the dependency fails for everyone.
    outage = index % 500 >= 400;
    const key = `r${index}`;
    const thread = { configurable: { thread_id: key } };
    const controller = new AbortController();
    if (fault === "abort") aborters.set(key, () => controller.abort());
    if (fault === "hang") expectedTimeouts += 1;
    if (fault === "exhaust") expectedExhausted += 1;
    started += 1;
    try {
      const result = (await graph.invoke({ key, fault }, { ...thread, signal: controller.signal })) as Record<string, unknown>;
      if ("__interrupt__" in result) {
        expectedInterrupts += 1;
        record(key, fault, "interrupted", undefined);
        if (fault === "interrupt-resume" && started < options.runs) {
          started += 1;
          try {
            await graph.invoke(new Command({ resume: true }), thread);
            record(key, "ok", "success", undefined);
          } catch (error) {
            record(key, "ok", "error", error);
          }
        }
      } else {
        record(key, fault, "success", undefined);
      }
    } catch (error) {
      const aborted = controller.signal.aborted && (error as Error | undefined)?.name === "AbortError";
      record(key, fault, aborted ? "cancelled" : "error", error);
    } finally {
      attempts.delete(key);
      aborters.delete(key);
      outageHit.delete(key);
      await checkpointer.deleteThread(key);
    }
  };

  const phase = options.phase ?? options.runs;
  for (let end = Math.min(phase, options.runs); started < options.runs; end = Math.min(end + phase, options.runs)) {
    const caller = async (): Promise<void> => {
      while (started < end) {
        const index = planned;
        planned += 1;
        await one(index);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, caller));
    // The exporter keeps what it received until reset; count it and let it go, so the heap shows only the kit.
    await provider.forceFlush();
    exported += exporter.getFinishedSpans().length;
    exporter.reset();
    options.onPhase?.(started);
  }

  const json = await metrics.registry.getMetricsAsJSON();
  const values = (name: string) =>
    (json.find((m) => m.name === name)?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  const runsTotal: Record<string, number> = {};
  for (const v of values("langgraph_graph_runs_total"))
    runsTotal[String(v.labels.status)] = (runsTotal[String(v.labels.status)] ?? 0) + v.value;
  const breakerTransitions: Record<string, number> = {};
  for (const v of values("langgraph_circuit_breaker_transitions_total")) breakerTransitions[String(v.labels.to)] = v.value;

  await provider.forceFlush();
  exported += exporter.getFinishedSpans().length;
  const report: WorkloadReport = {
    started,
    outcomes,
    unexpected: unexpected.slice(0, 20),
    runsTotal,
    inFlight: sumOf(values("langgraph_graph_runs_in_flight")),
    timeouts: sumOf(values("langgraph_node_timeouts_total")),
    retriesExhausted: sumOf(values("langgraph_node_retries_exhausted_total")),
    interrupts: sumOf(values("langgraph_interrupts_total")),
    expectedTimeouts,
    expectedExhausted,
    expectedInterrupts,
    breakerRejections: sumOf(values("langgraph_circuit_breaker_rejections_total")),
    observedRejections,
    breakerTransitions,
    spansStarted: counting.started,
    spansEnded: counting.ended,
    rootSpans: counting.roots,
    spansExported: exported,
    openTracingRuns: openRunCount(),
  };
  exporter.reset();
  metrics.close();
  breaker.shutdown();
  await provider.shutdown();
  trace.disable();
  return report;
}

/** Heap used after a full collection (needs `--expose-gc`). */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with node --expose-gc");
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  if (process.argv.includes("--json")) {
    const runs = Number(argValue("--runs") ?? 5000);
    const heap: { runs: number; heapUsed: number }[] = [];
    const report = await runFaultWorkload({
      runs,
      concurrency: Number(argValue("--concurrency") ?? 16),
      faultRate: Number(argValue("--fault-rate") ?? 0.3),
      kit: (argValue("--kit") ?? "full") as KitParts,
      seed: Number(argValue("--seed") ?? 42),
      phase: 500,
      onPhase: (done) => {
        heap.push({ runs: done, heapUsed: heapAfterGc() });
      },
    });
    // Which resources still hold the event loop once everything was shut down (stdio excluded by the reader).
    const resources = process.getActiveResourcesInfo();
    process.stdout.write(`${JSON.stringify({ report, heap, resources })}\n`);
    return;
  }
  if (process.argv.includes("--bench")) {
    const target = Number(argValue("--runs") ?? process.env.BENCH_MEMORY_RUNS ?? 10_000);
    process.stdout.write(await memoryBench(target));
  }
}

/** Heap after 1,000 runs against after `target` runs of the fault workload (after GC); returns the markdown section. */
export async function memoryBench(target: number): Promise<string> {
  const samples: { runs: number; heapUsed: number }[] = [];
  const step = Math.max(1000, Math.round(target / 4000) * 1000);
  const isMark = (done: number) => done === 1000 || done % step === 0 || done === target;
  const t0 = performance.now();
  const report = await runFaultWorkload({
    runs: target,
    concurrency: 32,
    faultRate: 0.3,
    seed: 7,
    phase: 1000,
    onPhase: (done) => {
      if (isMark(done)) samples.push({ runs: done, heapUsed: heapAfterGc() });
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const first = samples[0] as { heapUsed: number };
  const last = samples.at(-1) as { runs: number; heapUsed: number };
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const lines = [
    "## 5. Memory under faults",
    "",
    `The soak workload (resilient nodes; transient errors, hangs, outages behind a shared breaker, interrupts, aborts; 32 concurrent callers) instrumented with metrics + tracing + logs, ${report.started.toLocaleString("en")} runs in ${seconds.toFixed(0)} s. Heap used after GC with nothing in flight.`,
    "",
    "| runs | heap MiB | Δ vs 1,000 runs |",
    "|---:|---:|---:|",
    ...samples.map((s) => `| ${s.runs.toLocaleString("en")} | ${mib(s.heapUsed)} | ${mib(s.heapUsed - first.heapUsed)} |`),
    "",
    `Growth from 1,000 to ${last.runs.toLocaleString("en")} runs: ${(((last.heapUsed - first.heapUsed) / first.heapUsed) * 100).toFixed(1)} % ` +
      `(${((last.heapUsed - first.heapUsed) / Math.max(1, last.runs - 1000)).toFixed(0)} bytes per run). ` +
      `Cancelled runs left in flight by the kit: ${report.inFlight} of ${report.outcomes.cancelled}; spans left open: ${report.spansStarted - report.spansEnded}.`,
    "",
  ];
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
