/**
 * Where the per-invoke overhead of the full kit goes, on the 10-node graph of trivial nodes: each part of
 * `instrument()` and each resilience wrapper on its own, against the no-op-handler floor, in one process with the
 * same harness as bench/graph-overhead.bench.ts (variants in a new random order each round, ratios paired per round).
 *
 * Two rows are controls rather than parts of the kit: tracing through a tracer whose spans record nothing (the kit's
 * tracing handler without the OpenTelemetry SDK's span work), and a handler that only allocates a few small objects
 * per callback event (how sensitive the graph's own run time is to garbage made inside callbacks).
 * Run: npm run bench:breakdown
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { type Span, type SpanContext, type Tracer, trace } from "@opentelemetry/api";
import {
  GRAPH_NAME_METADATA_KEY,
  createCircuitBreaker,
  createLogger,
  createMetrics,
  instrument,
  withCircuitBreaker,
  withRetry,
  withTimeout,
} from "../src/index.js";
import {
  chainGraph,
  cpuSamplesPerInvoke,
  FLOOR,
  type Invokable,
  NoopHandler,
  pairedRatios,
  quantile,
  ratioCells,
  resilientNodes,
  tracingSdk,
  type Variant,
} from "./graph-overhead.bench.js";
import { machine, writeResults } from "./support.js";

type ChainNode = Parameters<Parameters<typeof chainGraph>[1] & object>[0];

/** A tracer whose spans carry valid, distinct ids and record nothing: the cost of the kit's handler alone. */
function nonRecordingTracer(): Tracer {
  let next = 0;
  const startSpan = (): Span => {
    next += 1;
    const id = next.toString(16);
    const context: SpanContext = { traceId: id.padStart(32, "0"), spanId: id.padStart(16, "0"), traceFlags: 1 };
    return trace.wrapSpanContext(context);
  };
  return {
    startSpan,
    startActiveSpan: () => {
      throw new Error("startActiveSpan is not used by the kit");
    },
  } as Tracer;
}

let sink: unknown;
/** Allocates `perEvent` small objects on each chain start and end, and does nothing else. */
class AllocatingHandler extends BaseCallbackHandler {
  override name = "allocating";
  override awaitHandlers = true;
  constructor(private readonly perEvent: number) {
    super();
  }
  override handleChainStart(_chain: unknown, _inputs: unknown, runId: string): void {
    for (let i = 0; i < this.perEvent; i++) sink = { runId, i, list: [i], key: `start:${runId}:${i}` };
  }
  override handleChainEnd(_outputs: unknown, runId: string): void {
    for (let i = 0; i < this.perEvent; i++) sink = { runId, i, list: [i], key: `end:${runId}:${i}` };
  }
}

const silent = createLogger({ level: "info", destination: { write: () => undefined } });
const bind = (g: Invokable, config: Record<string, unknown>): Invokable =>
  (g as unknown as { withConfig(c: unknown): Invokable }).withConfig(config);
const kit = (g: Invokable, tracer?: Tracer): Invokable =>
  instrument(g as never, {
    metrics: createMetrics(),
    tracing: tracer === undefined ? true : { tracer },
    logger: silent,
    name: "breakdown",
  }) as Invokable;
const wrapEach = (wrap: (node: ChainNode) => unknown) => (node: ChainNode) => wrap(node) as ChainNode;

function variants(): Variant[] {
  tracingSdk();
  const breaker = createCircuitBreaker({ name: "breakdown" });
  return [
    { name: FLOOR, graph: bind(chainGraph(10), { callbacks: [new NoopHandler()] }) },
    {
      name: "floor + graph name in run metadata",
      graph: bind(chainGraph(10), { callbacks: [new NoopHandler()], metadata: { [GRAPH_NAME_METADATA_KEY]: "breakdown" } }),
    },
    {
      name: "instrument() without signals (its handler forwards to no parts)",
      graph: instrument(chainGraph(10) as never, { name: "breakdown" }) as Invokable,
    },
    {
      name: "instrument({ metrics })",
      graph: instrument(chainGraph(10) as never, { metrics: createMetrics(), name: "breakdown" }) as Invokable,
    },
    { name: "instrument({ logger })", graph: instrument(chainGraph(10) as never, { logger: silent, name: "breakdown" }) as Invokable },
    {
      name: "instrument({ tracing }), non-recording tracer (control)",
      graph: instrument(chainGraph(10) as never, { tracing: { tracer: nonRecordingTracer() }, name: "breakdown" }) as Invokable,
    },
    {
      name: "instrument({ tracing }), OpenTelemetry SDK",
      graph: instrument(chainGraph(10) as never, { tracing: true, name: "breakdown" }) as Invokable,
    },
    { name: "kit (metrics + tracing + logs), non-recording tracer", graph: kit(chainGraph(10), nonRecordingTracer()) },
    { name: "kit (metrics + tracing + logs)", graph: kit(chainGraph(10)) },
    {
      name: "kit + withRetry nodes",
      graph: kit(
        chainGraph(
          10,
          wrapEach((n) => withRetry(n, { retries: 3 })),
        ),
      ),
    },
    {
      name: "kit + withTimeout nodes",
      graph: kit(
        chainGraph(
          10,
          wrapEach((n) => withTimeout(n, 30_000)),
        ),
      ),
    },
    {
      name: "kit + withCircuitBreaker nodes (one shared breaker)",
      graph: kit(
        chainGraph(
          10,
          wrapEach((n) => withCircuitBreaker(n, breaker)),
        ),
      ),
    },
    { name: "kit + resilient({ timeout, retry, circuitBreaker }) nodes", graph: kit(chainGraph(10, resilientNodes("breakdown-full"))) },
    {
      name: "floor handler allocating 6 small objects per event (control)",
      graph: bind(chainGraph(10), { callbacks: [new AllocatingHandler(6)] }),
    },
  ];
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 20);

const list = variants();
const samples = await cpuSamplesPerInvoke(list, () => ({ n: 0 }), ROUNDS, PER_ROUND);
const ratios = pairedRatios(samples, FLOOR, new Set());
const floorUs = quantile(samples.get(FLOOR) ?? [], 0.5);
const out: string[] = [
  "# Where the overhead goes (10-node graph of trivial nodes)",
  "",
  `${machine()}. CPU µs per invoke (user + system of this process), ${ROUNDS} rounds × ${PER_ROUND} invokes, variants in a new`,
  "random order each round; each ratio is the median of per-round ratios against the floor's sample of the same round,",
  "with their interquartile range. Tracing exports through one OpenTelemetry SDK (BatchSpanProcessor, in-memory exporter).",
  "Reproduce: `npm run bench:breakdown` (BENCH_ROUNDS, BENCH_PER_ROUND change the sample size).",
  "",
  "| variant | CPU µs/invoke | × no-op floor | p25–p75 | Δ µs/invoke vs floor |",
  "|---|---:|---:|---:|---:|",
];
for (const v of list) {
  const us = quantile(samples.get(v.name) ?? [], 0.5);
  out.push(`| ${v.name} | ${us.toFixed(0)} | ${ratioCells(ratios.get(v.name), 3)} | ${(us - floorUs).toFixed(0)} |`);
}
out.push("");
void sink;
const text = out.join("\n");
console.log(text);
writeResults("bench/results/breakdown.md", `${text}\n`);
await tracingSdk().provider.shutdown();
