/**
 * Where the per-invoke overhead of the full kit goes, on the 10-node graph of trivial nodes and on the ReAct agent:
 * each part of `instrument()` and (10-node graph) each resilience wrapper on its own, against the no-op-handler floor,
 * in one process with the same harness as bench/graph-overhead.bench.ts (variants in a new random order each round,
 * ratios paired per round). A last pass times the calls into the OpenTelemetry SDK made during a traced run.
 *
 * Two rows are controls rather than parts of the kit: tracing through a tracer whose spans record nothing (the kit's
 * tracing handler without the OpenTelemetry SDK's span work), and a handler that only allocates a few small objects
 * per callback event (how sensitive the graph's own run time is to garbage made inside callbacks).
 * Run: npm run bench:breakdown
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { HumanMessage } from "@langchain/core/messages";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { type Context, ROOT_CONTEXT, type Span, type SpanContext, type SpanOptions, type Tracer, trace } from "@opentelemetry/api";
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
import { ScriptedChatModel, searchTool } from "./tracing-fixtures.js";

type ChainNode = Parameters<Parameters<typeof chainGraph>[1] & object>[0];

/** A tracer made of `startSpan` alone: the kit never calls `startActiveSpan`. */
function tracerOf(startSpan: (name: string, options?: SpanOptions, context?: Context) => Span): Tracer {
  return {
    startSpan,
    startActiveSpan: () => {
      throw new Error("startActiveSpan is not used by the kit");
    },
  } as Tracer;
}

/** A tracer whose spans carry valid, distinct ids and record nothing: the cost of the kit's handler alone. */
function nonRecordingTracer(): Tracer {
  let next = 0;
  const startSpan = (): Span => {
    next += 1;
    const id = next.toString(16);
    const context: SpanContext = { traceId: id.padStart(32, "0"), spanId: id.padStart(16, "0"), traceFlags: 1 };
    return trace.wrapSpanContext(context);
  };
  return tracerOf(startSpan);
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

/** The rows both graphs share: the handler alone, each signal, tracing with and without the SDK, the kit. */
function signalVariants(build: () => Invokable): Variant[] {
  return [
    { name: FLOOR, graph: bind(build(), { callbacks: [new NoopHandler()] }) },
    {
      name: "instrument() without signals (its handler forwards to no parts)",
      graph: instrument(build() as never, { name: "breakdown" }) as Invokable,
    },
    { name: "instrument({ metrics })", graph: instrument(build() as never, { metrics: createMetrics(), name: "breakdown" }) as Invokable },
    { name: "instrument({ logger })", graph: instrument(build() as never, { logger: silent, name: "breakdown" }) as Invokable },
    {
      name: "instrument({ tracing }), non-recording tracer (control)",
      graph: instrument(build() as never, { tracing: { tracer: nonRecordingTracer() }, name: "breakdown" }) as Invokable,
    },
    {
      name: "instrument({ tracing }), OpenTelemetry SDK",
      graph: instrument(build() as never, { tracing: true, name: "breakdown" }) as Invokable,
    },
    { name: "kit (metrics + tracing + logs), non-recording tracer", graph: kit(build(), nonRecordingTracer()) },
    { name: "kit (metrics + tracing + logs)", graph: kit(build()) },
  ];
}

function chainVariants(): Variant[] {
  const breaker = createCircuitBreaker({ name: "breakdown" });
  const [floor, ...signals] = signalVariants(() => chainGraph(10));
  return [
    floor as Variant,
    {
      name: "floor + graph name in run metadata",
      graph: bind(chainGraph(10), { callbacks: [new NoopHandler()], metadata: { [GRAPH_NAME_METADATA_KEY]: "breakdown" } }),
    },
    ...signals,
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

const reactAgent = (): Invokable => createReactAgent({ llm: new ScriptedChatModel(), tools: [searchTool] }) as unknown as Invokable;

/**
 * Forwards to `tracer` and adds the wall time spent inside its `startSpan` and inside the span methods the kit calls
 * (`end`, `setAttribute`, `setAttributes`, `addEvent`) to `spent.ms`.
 */
function timedTracer(tracer: Tracer, spent: { ms: number; spans: number }): Tracer {
  const timed =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      const start = performance.now();
      try {
        return fn(...args);
      } finally {
        spent.ms += performance.now() - start;
      }
    };
  return tracerOf((name, options, context) => {
    const span = timed(tracer.startSpan.bind(tracer))(name, options, context);
    spent.spans += 1;
    const own = span as unknown as Record<string, unknown>;
    for (const method of ["end", "setAttribute", "setAttributes", "addEvent"] as const) {
      own[method] = timed((span[method] as (...args: unknown[]) => unknown).bind(span));
    }
    return span;
  });
}

/** Mean µs per invoke spent inside the OpenTelemetry SDK's span calls during a kit-instrumented run. */
async function sdkTimePerInvoke(build: () => Invokable, input: () => unknown, invokes: number): Promise<{ us: number; spans: number }> {
  const spent = { ms: 0, spans: 0 };
  const graph = kit(build(), timedTracer(trace.getTracer("langgraph-ops"), spent));
  for (let i = 0; i < 50; i++) await graph.invoke(input());
  spent.ms = 0;
  spent.spans = 0;
  for (let i = 0; i < invokes; i++) await graph.invoke(input());
  await tracingSdk().provider.forceFlush();
  tracingSdk().exporter.reset();
  return { us: (spent.ms * 1000) / invokes, spans: spent.spans / invokes };
}

/**
 * The same SDK calls outside a graph: the spans one kit-instrumented run starts (names and start options as the kit
 * passed them, the first as the parent of the others), started and ended back to back. Mean µs per replayed run.
 */
async function sdkReplayPerInvoke(build: () => Invokable, input: () => unknown, replays: number): Promise<number> {
  const calls: { name: string; options: SpanOptions | undefined }[] = [];
  const sdkTracer = trace.getTracer("langgraph-ops");
  const recording = tracerOf((name, options, ctx) => {
    calls.push({ name, options });
    return sdkTracer.startSpan(name, options, ctx);
  });
  await kit(build(), recording).invoke(input());
  const replay = (): void => {
    const [first, ...rest] = calls;
    if (first === undefined) return;
    const root = sdkTracer.startSpan(first.name, first.options, ROOT_CONTEXT);
    const parent = trace.setSpan(ROOT_CONTEXT, root);
    for (const c of rest) sdkTracer.startSpan(c.name, c.options, parent).end();
    root.end();
  };
  for (let i = 0; i < 1000; i++) replay();
  const start = process.cpuUsage();
  for (let i = 0; i < replays; i++) replay();
  const used = process.cpuUsage(start);
  await tracingSdk().provider.forceFlush();
  tracingSdk().exporter.reset();
  return (used.user + used.system) / replays;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 20);

tracingSdk();
const scenarios = [
  { title: "10-node graph of trivial nodes", variants: chainVariants(), build: () => chainGraph(10), input: () => ({ n: 0 }) },
  {
    title: "ReAct agent (createReactAgent, scripted chat model, 1 tool: 2 LLM calls, 1 tool call)",
    variants: signalVariants(reactAgent),
    build: reactAgent,
    input: () => ({ messages: [new HumanMessage("weather?")] }),
  },
];

const out: string[] = [
  "# Where the overhead goes",
  "",
  `${machine()}. CPU µs per invoke (user + system of this process), ${ROUNDS} rounds × ${PER_ROUND} invokes, variants in a new`,
  "random order each round; each ratio is the median of per-round ratios against the floor's sample of the same round,",
  "with their interquartile range. Tracing exports through one OpenTelemetry SDK (BatchSpanProcessor, in-memory exporter).",
  "Reproduce: `npm run bench:breakdown` (BENCH_ROUNDS, BENCH_PER_ROUND change the sample size).",
  "",
];
const sdkRows: string[] = [];
for (const s of scenarios) {
  const samples = await cpuSamplesPerInvoke(s.variants, s.input, ROUNDS, PER_ROUND);
  const ratios = pairedRatios(samples, FLOOR, new Set());
  const floorUs = quantile(samples.get(FLOOR) ?? [], 0.5);
  out.push(
    `## ${s.title}`,
    "",
    "| variant | CPU µs/invoke | × no-op floor | p25–p75 | Δ µs/invoke vs floor |",
    "|---|---:|---:|---:|---:|",
  );
  for (const v of s.variants) {
    const us = quantile(samples.get(v.name) ?? [], 0.5);
    out.push(`| ${v.name} | ${us.toFixed(0)} | ${ratioCells(ratios.get(v.name), 3)} | ${(us - floorUs).toFixed(0)} |`);
  }
  out.push("");
  const sdk = await sdkTimePerInvoke(s.build, s.input, ROUNDS * PER_ROUND);
  const replayed = await sdkReplayPerInvoke(s.build, s.input, 20_000);
  const share = (us: number): string => `${((100 * us) / floorUs).toFixed(1)} %`;
  sdkRows.push(
    `| ${s.title} | ${sdk.spans.toFixed(0)} | ${sdk.us.toFixed(0)} | ${share(sdk.us)} | ${replayed.toFixed(0)} | ${share(replayed)} |`,
  );
}
out.push(
  "## Time inside the OpenTelemetry SDK",
  "",
  "In a run: wall time spent inside the SDK's `startSpan` and the span methods the kit calls (`end`, `setAttribute(s)`,",
  `\`addEvent\`) during kit-instrumented runs (${ROUNDS * PER_ROUND} invokes after 50 warm-up runs). Replayed: CPU time of the same`,
  "`startSpan` calls (names and options as the kit passed them) and `end`, back to back outside a graph, per run. Shares are",
  "of the floor's CPU µs per invoke. This is the SDK's own work for the spans the kit records, not the kit's handler code.",
  "",
  "| graph | spans/invoke | µs/invoke inside the SDK, in a run | share of the floor | µs per run, replayed | share of the floor |",
  "|---|---:|---:|---:|---:|---:|",
  ...sdkRows,
  "",
);
void sink;
const text = out.join("\n");
console.log(text);
writeResults("bench/results/breakdown.md", `${text}\n`);
await tracingSdk().provider.shutdown();
