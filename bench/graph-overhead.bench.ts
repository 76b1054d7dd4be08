/**
 * Per-invoke overhead of the kit on a 10-node graph and on a ReAct agent (`createReactAgent` with a scripted
 * tool-calling chat model and a real tool), side by side in one process: bare graph; a no-op callback handler (the
 * floor every callback-based tool pays); `instrument` with metrics; with tracing (OpenTelemetry SDK, batch processor,
 * in-memory exporter); with metrics + tracing + logs (pino to a null destination); the same plus resilient nodes;
 * `@langfuse/langchain`'s CallbackHandler (exporting through the same SDK); OpenInference's LangChain
 * instrumentation (patched onto the installed `@langchain/core` callbacks module only for its own turn).
 *
 * Cost is CPU time of this process per invoke (user + system): on a shared machine wall time carries other
 * processes' load. Variants are interleaved round by round in a random order (OpenInference, which patches modules,
 * is measured after them) and each variant's median over rounds is reported.
 * Prints a markdown section; `bench/run.ts` collects it into bench/RESULTS.md.
 */
import { LangChainInstrumentation } from "@arizeai/openinference-instrumentation-langchain";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import * as CallbackManagerModule from "@langchain/core/callbacks/manager";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { HumanMessage } from "@langchain/core/messages";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { CallbackHandler as LangfuseCallbackHandler } from "@langfuse/langchain";
import { BatchSpanProcessor, InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createCircuitBreaker, createLogger, createMetrics, instrument, resilient } from "../src/index.js";
import { machine, seededRandom } from "./support.js";
import { ScriptedChatModel, searchTool } from "./tracing-fixtures.js";

/** Something with `invoke`. */
export interface Invokable {
  invoke(input: unknown): Promise<unknown>;
}

/** One way of running the same graph. */
export interface Variant {
  name: string;
  graph: Invokable;
  before?: () => void;
  after?: () => void;
}

/** The SDK every tracing variant exports through, and OpenInference's instrumentation; set up on first use. */
let sdk:
  | { exporter: InMemorySpanExporter; provider: NodeTracerProvider; openInference: { patch(m: unknown): void; unpatch(m: unknown): void } }
  | undefined;
export function tracingSdk(): NonNullable<typeof sdk> {
  if (sdk !== undefined) return sdk;
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 100_000, maxExportBatchSize: 512, scheduledDelayMillis: 200 })],
  });
  provider.register();
  const instrumentation = new LangChainInstrumentation({ tracerProvider: provider });
  instrumentation.disable();
  sdk = { exporter, provider, openInference: instrumentation as unknown as { patch(m: unknown): void; unpatch(m: unknown): void } };
  return sdk;
}

/** Reacts to nothing, in the caller's flow like the kit's handlers: the floor of any callback-based tool. */
export class NoopHandler extends BaseCallbackHandler {
  name = "noop";
  override awaitHandlers = true;
}

const nullLogger = createLogger({ level: "info", destination: { write: () => undefined } });

const Chain = Annotation.Root({ n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }) });
type ChainState = typeof Chain.State;
type ChainNode = (s: ChainState) => Promise<Partial<ChainState>> | Partial<ChainState>;

/** START → n0 → … → n9 → END, each node `n + 1`; `wrap` decorates every node (e.g. with `resilient`). */
export function chainGraph(size = 10, wrap: (node: ChainNode, index: number) => ChainNode = (n) => n): Invokable {
  const builder = new StateGraph(Chain) as unknown as {
    addNode(name: string, fn: ChainNode): unknown;
    addEdge(from: string, to: string): unknown;
    compile(): Invokable;
  };
  for (let i = 0; i < size; i++)
    builder.addNode(
      `n${i}`,
      wrap((s) => ({ n: s.n + 1 }), i),
    );
  builder.addEdge(START, "n0");
  for (let i = 1; i < size; i++) builder.addEdge(`n${i - 1}`, `n${i}`);
  builder.addEdge(`n${size - 1}`, END);
  return builder.compile();
}

/** The kit's recommended node wrapper: timeout, retry and one breaker shared by the nodes (one dependency). */
export function resilientNodes(name: string): (node: ChainNode) => ChainNode {
  const breaker = createCircuitBreaker({ name });
  return (node) => resilient(node, { timeout: 30_000, retry: { retries: 3 }, circuitBreaker: breaker }) as ChainNode;
}

function bind(graph: Invokable, callbacks: BaseCallbackHandler[]): Invokable {
  return (graph as unknown as { withConfig(c: unknown): Invokable }).withConfig({ callbacks });
}

/** Name of the variant that runs the kit's run sources with no signal: what every signal is added to. */
export const NO_SIGNALS = "instrument() with no signals";

/** Name of the no-op-handler variant every ratio is taken against. */
export const FLOOR = "no-op callback handler (floor)";

/** The variants of one scenario; `build` returns a fresh compiled graph, `buildResilient` the same with resilient nodes. */
export function variantsOf(build: () => Invokable, buildResilient?: () => Invokable): Variant[] {
  tracingSdk();
  const kit = (g: Invokable) =>
    instrument(g as never, { metrics: createMetrics(), tracing: true, logger: nullLogger, name: "bench" }) as Invokable;
  const variants: Variant[] = [
    { name: "bare graph", graph: build() },
    { name: FLOOR, graph: bind(build(), [new NoopHandler()]) },
    // The kit's run sources with no signal attached: node wrappers, the root run, and the handler inside node runs,
    // whose LLM and tool calls still make LangChain build a run manager each.
    { name: NO_SIGNALS, graph: instrument(build() as never, { name: "bench" }) as Invokable },
    { name: "instrument({ metrics })", graph: instrument(build() as never, { metrics: createMetrics(), name: "bench" }) as Invokable },
    { name: "instrument({ tracing })", graph: instrument(build() as never, { tracing: true, name: "bench" }) as Invokable },
    { name: "instrument({ metrics, tracing, logger })", graph: kit(build()) },
  ];
  if (buildResilient !== undefined) {
    variants.push({ name: "full kit: instrument(metrics, tracing, logger) + resilient nodes", graph: kit(buildResilient()) });
  }
  variants.push(
    { name: "@langfuse/langchain CallbackHandler", graph: bind(build(), [new LangfuseCallbackHandler()]) },
    {
      name: "OpenInference LangChainInstrumentation",
      graph: build(),
      before: () => tracingSdk().openInference.patch(CallbackManagerModule),
      after: () => tracingSdk().openInference.unpatch(CallbackManagerModule),
    },
  );
  return variants;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Lets the batch processor drain into the exporter, then drops what it holds, so memory stays flat. */
async function flushTracingSdk(): Promise<void> {
  await tracingSdk().provider.forceFlush();
  tracingSdk().exporter.reset();
}

/**
 * CPU µs per invoke of each variant, one sample per round of `perRound` sequential invokes, in round order. Variants
 * that patch modules (`before`/`after`: OpenInference) are measured last, each patched once for all its samples:
 * patching and unpatching LangChain's callback manager every round deoptimises LangChain for every variant measured
 * after it. The others are interleaved, in a new random order each round (drawn from `seed`). `flush` runs between
 * rounds (default: the tracing SDK of this file).
 */
export async function cpuSamplesPerInvoke(
  variants: Variant[],
  input: () => unknown,
  rounds: number,
  perRound: number,
  flush: () => Promise<void> = flushTracingSdk,
  seed = 0x5eed,
): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const sample = async (v: Variant): Promise<void> => {
    await v.graph.invoke(input());
    await awaitAllCallbacks();
    const start = process.cpuUsage();
    for (let i = 0; i < perRound; i++) await v.graph.invoke(input());
    // Background-queue handlers (Langfuse's) finish inside the sample that caused their work.
    await awaitAllCallbacks();
    const used = process.cpuUsage(start);
    samples.get(v.name)?.push((used.user + used.system) / perRound);
  };
  const patching = variants.filter((v) => v.before !== undefined || v.after !== undefined);
  const interleaved = variants.filter((v) => !patching.includes(v));
  const random = seededRandom(seed);
  for (let r = 0; r < rounds; r++) {
    // A new random order each round: with a fixed cyclic order every variant would always follow the same
    // predecessor and pay for that one's garbage (the floor, right after the bare graph, would look cheap).
    for (const v of shuffled(interleaved, random)) await sample(v);
    await flush();
  }
  for (const v of patching) {
    v.before?.();
    try {
      for (let r = 0; r < rounds; r++) {
        await sample(v);
        await flush();
      }
    } finally {
      v.after?.();
    }
  }
  return samples;
}

/** The value at quantile `q` (0..1) of `values` (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))] as number;
}

/**
 * Each variant's cost relative to `reference`, round by round: interleaved variants are divided by the reference's
 * sample of the same round (both saw the same machine state), variants measured after the others by the reference's
 * median. Returns every round's ratio.
 */
export function roundRatios(samples: Map<string, number[]>, reference: string, measuredLast: ReadonlySet<string>): Map<string, number[]> {
  const ref = samples.get(reference) ?? [];
  const refMedian = quantile(ref, 0.5);
  const out = new Map<string, number[]>();
  for (const [name, values] of samples) {
    out.set(
      name,
      values.map((v, r) => v / (measuredLast.has(name) ? refMedian : (ref[r] ?? refMedian))),
    );
  }
  return out;
}

/** A median with its interquartile range. */
export interface Spread {
  median: number;
  p25: number;
  p75: number;
}

/** Median and interquartile range of `values`. */
export function spread(values: readonly number[]): Spread {
  return { median: quantile(values, 0.5), p25: quantile(values, 0.25), p75: quantile(values, 0.75) };
}

/** The median and interquartile range of each variant's {@link roundRatios} against `reference`. */
export function pairedRatios(samples: Map<string, number[]>, reference: string, measuredLast: ReadonlySet<string>): Map<string, Spread> {
  const out = new Map<string, Spread>();
  for (const [name, ratios] of roundRatios(samples, reference, measuredLast)) out.set(name, spread(ratios));
  return out;
}

/** Table cells "median | p25–p75" of a paired ratio, `digits` decimals. */
export function ratioCells(ratio: Spread | undefined, digits = 2): string {
  if (ratio === undefined) return "n/a | n/a";
  return `${ratio.median.toFixed(digits)} | ${ratio.p25.toFixed(digits)}–${ratio.p75.toFixed(digits)}`;
}

/** Spans one run of `v` exports through `sdk` (default: the tracing SDK of this file). */
export async function spansPerRun(
  v: Variant,
  input: () => unknown,
  sdk: { provider: NodeTracerProvider; exporter: InMemorySpanExporter } = tracingSdk(),
): Promise<number> {
  const { provider, exporter } = sdk;
  await provider.forceFlush();
  exporter.reset();
  v.before?.();
  try {
    await v.graph.invoke(input());
    await awaitAllCallbacks();
  } finally {
    v.after?.();
  }
  await provider.forceFlush();
  const n = exporter.getFinishedSpans().length;
  exporter.reset();
  return n;
}

/** What one process measured for one scenario: CPU µs per invoke of each variant, round by round. */
export interface ScenarioRun {
  name: string;
  /** Variant names in table order. */
  variants: string[];
  spans: Record<string, number>;
  samples: Record<string, number[]>;
  /** Variants measured after the interleaved ones (their ratios use the floor's median). */
  measuredLast: string[];
}

/** Measures both scenarios in this process; `seed` draws the round orders. */
export async function measureOverhead(rounds: number, perRound: number, seed: number): Promise<ScenarioRun[]> {
  const scenarios = [
    {
      name: "10-node graph",
      variants: variantsOf(
        () => chainGraph(10),
        () => chainGraph(10, resilientNodes("bench-overhead")),
      ),
      input: () => ({ n: 0 }),
    },
    {
      name: "ReAct agent (createReactAgent, scripted tool-calling chat model + 1 tool: 2 LLM calls, 1 tool call)",
      variants: variantsOf(() => createReactAgent({ llm: new ScriptedChatModel(), tools: [searchTool] }) as unknown as Invokable),
      input: () => ({ messages: [new HumanMessage("weather?")] }),
    },
  ];
  const out: ScenarioRun[] = [];
  for (const s of scenarios) {
    const spans: Record<string, number> = {};
    for (const v of s.variants) spans[v.name] = await spansPerRun(v, s.input);
    const samples = await cpuSamplesPerInvoke(s.variants, s.input, rounds, perRound, flushTracingSdk, seed);
    out.push({
      name: s.name,
      variants: s.variants.map((v) => v.name),
      spans,
      samples: Object.fromEntries(samples),
      measuredLast: s.variants.filter((v) => v.before !== undefined || v.after !== undefined).map((v) => v.name),
    });
  }
  return out;
}

/**
 * The markdown section for one or more processes' measurements of the same scenarios. Ratios are paired within each
 * process's rounds and then pooled; the last column gives each process's own median ratio, because a process's JIT
 * and heap layout can shift its medians by a few hundredths, which no spread within one process shows.
 */
export function renderOverhead(processes: ScenarioRun[][], rounds: number, perRound: number): string {
  const n = processes.length;
  const out: string[] = [
    "## 1. Per-invoke overhead",
    "",
    `CPU µs per invoke (user + system of the process), ${n} process${n === 1 ? "" : "es"} × ${rounds} rounds × ${perRound} sequential invokes, variants in a new random order each round (OpenInference, which patches LangChain's callback manager, measured after the others, patched once). Ratios are taken round by round, against the other variant's sample of the same round (OpenInference: against its process's floor median), and pooled over the processes; the table gives their median and interquartile range, and each process's own median. ` +
      "Tracing variants export through one OpenTelemetry SDK (NodeTracerProvider, BatchSpanProcessor, InMemorySpanExporter); " +
      "logs go to pino with a null destination.",
    "",
  ];
  for (const [index, first] of (processes[0] ?? []).entries()) {
    const runs = processes.map((p) => p[index] as ScenarioRun);
    const pooled = (reference: string, name: string): { all: number[]; perProcess: number[] } => {
      const all: number[] = [];
      const perProcess: number[] = [];
      for (const run of runs) {
        const ratios = roundRatios(new Map(Object.entries(run.samples)), reference, new Set(run.measuredLast)).get(name) ?? [];
        all.push(...ratios);
        perProcess.push(quantile(ratios, 0.5));
      }
      return { all, perProcess };
    };
    out.push(
      `### ${first.name}`,
      "",
      "| variant | spans/run | CPU µs/invoke | × bare | × no-op floor | floor ratio p25–p75 | per-process medians |",
      "|---|---:|---:|---:|---:|---:|---:|",
    );
    for (const name of first.variants) {
      const us = quantile(
        runs.flatMap((r) => r.samples[name] ?? []),
        0.5,
      );
      const toFloor = pooled(FLOOR, name);
      const perProcess = toFloor.perProcess.map((r) => r.toFixed(2)).join(" / ");
      out.push(
        `| ${name} | ${first.spans[name]} | ${us.toFixed(0)} | ${spread(pooled("bare graph", name).all).median.toFixed(2)} | ${ratioCells(spread(toFloor.all))} | ${perProcess} |`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
  const perRound = Number(process.env.BENCH_PER_ROUND ?? 20);
  const seed = Number(process.env.BENCH_SEED ?? 0x5eed);
  const measured = await measureOverhead(rounds, perRound, seed);
  // bench/run.ts runs this file in several processes and renders their measurements together.
  if (process.argv.includes("--json")) process.stdout.write(JSON.stringify(measured));
  else process.stdout.write(`<!-- ${machine()} -->\n${renderOverhead([measured], rounds, perRound)}\n`);
  await tracingSdk().provider.shutdown();
}
