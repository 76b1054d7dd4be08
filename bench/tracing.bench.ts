/**
 * Cost of `instrument(graph, { tracing: true })` (and with metrics and logs too) with the OpenTelemetry SDK, a batch
 * span processor and an in-memory exporter, against the bare graph, a no-op callback handler (the floor every
 * callback-based tracer pays), `@langfuse/langchain`'s CallbackHandler and OpenInference's LangChain
 * instrumentation, on a 10-node graph and on a ReAct agent (scripted chat model + a real tool), in one process.
 *
 * CPU time of this process per invoke, variants in a new random order each round, ratios paired per round (see
 * bench/graph-overhead.bench.ts): on a shared machine wall time carries other processes' load. OpenInference patches
 * LangChain globally, so it is measured after the others, patched once.
 * Run: npm run bench:tracing
 */
import type { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import * as CallbackManagerModule from "@langchain/core/callbacks/manager";
import { HumanMessage } from "@langchain/core/messages";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { LangChainInstrumentation } from "@arizeai/openinference-instrumentation-langchain";
import { CallbackHandler as LangfuseCallbackHandler } from "@langfuse/langchain";
import { BatchSpanProcessor, InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createLogger, createMetrics, instrument } from "../src/index.js";
import {
  cpuSamplesPerInvoke,
  FLOOR,
  type Invokable,
  NoopHandler,
  pairedRatios,
  quantile,
  ratioCells,
  spansPerRun,
  type Variant,
} from "./graph-overhead.bench.js";
import { machine, writeResults } from "./support.js";
import { buildChainGraph, ScriptedChatModel, searchTool } from "./tracing-fixtures.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({
  spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 100_000, maxExportBatchSize: 512, scheduledDelayMillis: 200 })],
});
provider.register();

const openInference = new LangChainInstrumentation({ tracerProvider: provider });
openInference.disable();
const oiControl = openInference as unknown as { patch(m: unknown): void; unpatch(m: unknown): void };

type Scenario = { name: string; build: () => Invokable; input: () => unknown };

const scenarios: Scenario[] = [
  { name: "10-node graph", build: () => buildChainGraph(10) as unknown as Invokable, input: () => ({ n: 0 }) },
  {
    name: "ReAct agent (chat model + tool, 2 LLM calls)",
    build: () => createReactAgent({ llm: new ScriptedChatModel(), tools: [searchTool] }) as unknown as Invokable,
    input: () => ({ messages: [new HumanMessage("weather?")] }),
  },
];

const silent = createLogger({ level: "info", destination: { write: () => undefined } });

function variantsFor(s: Scenario): Variant[] {
  const bind = (g: Invokable, callbacks: BaseCallbackHandler[]) =>
    (g as unknown as { withConfig(c: unknown): Invokable }).withConfig({ callbacks });
  return [
    { name: "bare", graph: s.build() },
    { name: FLOOR, graph: bind(s.build(), [new NoopHandler()]) },
    { name: "instrument({ tracing: true })", graph: instrument(s.build() as never, { tracing: true, name: "bench" }) as Invokable },
    {
      name: "instrument({ tracing, logger })",
      graph: instrument(s.build() as never, { tracing: true, logger: silent, name: "bench" }) as Invokable,
    },
    {
      name: "instrument({ metrics })",
      graph: instrument(s.build() as never, { metrics: createMetrics(), name: "bench" }) as Invokable,
    },
    {
      name: "instrument({ metrics, tracing, logger })",
      graph: instrument(s.build() as never, { metrics: createMetrics(), tracing: true, logger: silent, name: "bench" }) as Invokable,
    },
    { name: "@langfuse/langchain CallbackHandler", graph: bind(s.build(), [new LangfuseCallbackHandler()]) },
    {
      name: "OpenInference LangChainInstrumentation",
      graph: s.build(),
      before: () => oiControl.patch(CallbackManagerModule),
      after: () => oiControl.unpatch(CallbackManagerModule),
    },
  ];
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 30);
const out: string[] = [
  "# Tracing overhead",
  "",
  `${machine()}. CPU µs per invoke (user + system of this process), ${ROUNDS} rounds × ${PER_ROUND} invokes; ratios are medians of per-round ratios (p25–p75 against the floor).`,
  "OpenTelemetry SDK with a BatchSpanProcessor and an in-memory exporter for every tracing variant.",
  "Reproduce: `npm run bench:tracing` (BENCH_ROUNDS, BENCH_PER_ROUND to change the sample size).",
  "",
];
for (const s of scenarios) {
  const variants = variantsFor(s);
  const spans = new Map<string, number>();
  for (const v of variants) spans.set(v.name, await spansPerRun(v, s.input, { provider, exporter }));
  const samples = await cpuSamplesPerInvoke(variants, s.input, ROUNDS, PER_ROUND, async () => {
    await provider.forceFlush();
    exporter.reset();
  });
  const measuredLast = new Set(variants.filter((v) => v.before !== undefined).map((v) => v.name));
  const toBare = pairedRatios(samples, "bare", measuredLast);
  const toFloor = pairedRatios(samples, FLOOR, measuredLast);
  out.push(
    `## ${s.name}`,
    "",
    "| variant | spans/run | CPU µs/invoke | × bare | × no-op floor | p25–p75 |",
    "|---|---:|---:|---:|---:|---:|",
  );
  for (const v of variants) {
    const us = quantile(samples.get(v.name) ?? [], 0.5);
    out.push(
      `| ${v.name} | ${spans.get(v.name)} | ${us.toFixed(0)} | ${toBare.get(v.name)?.median.toFixed(2)} | ${ratioCells(toFloor.get(v.name))} |`,
    );
  }
  out.push("");
}
const text = out.join("\n");
console.log(text);
writeResults("bench/results/tracing.md", `${text}\n`);
await provider.shutdown();
