/**
 * Cost of `instrument(graph, { metrics })` on a 10-node graph against the bare graph and against the same graph
 * with a no-op LangChain callback handler (the floor every callback-based tool pays), plus `/metrics` render time
 * at about 10k series.
 * Run: npm run bench:metrics
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { Annotation, START, StateGraph } from "@langchain/langgraph";
import { Bench } from "tinybench";
import { createMetrics, instrument } from "../src/index.js";
import { machine, measure, table, writeResults } from "./support.js";

const State = Annotation.Root({ n: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }) });

function tenNodeGraph() {
  // Built through the untyped graph shape: node names are generated, so the builder cannot type them.
  const builder = new StateGraph(State) as unknown as {
    addNode(name: string, fn: () => Promise<{ n: number }>): unknown;
    addEdge(from: string, to: string): unknown;
    compile(): ReturnType<StateGraph<typeof State.spec>["compile"]>;
  };
  for (let i = 0; i < 10; i++) builder.addNode(`node_${i}`, async () => ({ n: 1 }));
  builder.addEdge(START, "node_0");
  for (let i = 1; i < 10; i++) builder.addEdge(`node_${i - 1}`, `node_${i}`);
  return builder.compile();
}

/** A handler that reacts to nothing: what LangChain's callback machinery costs by itself. */
class NoopHandler extends BaseCallbackHandler {
  name = "noop";
}
/** The same, run in the caller's flow like the kit's handlers (no background queue). */
class AwaitedNoopHandler extends BaseCallbackHandler {
  name = "noop-awaited";
  override awaitHandlers = true;
}

const bare = tenNodeGraph();
const noop = tenNodeGraph().withConfig({ callbacks: [new NoopHandler()] });
const noopAwaited = tenNodeGraph().withConfig({ callbacks: [new AwaitedNoopHandler()] });
const metrics = createMetrics();
const instrumented = instrument(tenNodeGraph(), { metrics, name: "bench" });
const input = { n: 0 };

const rows = await measure(
  [
    { name: "bare 10-node graph", run: () => bare.invoke(input) },
    { name: "no-op callback handler (default, background queue)", run: () => noop.invoke(input) },
    { name: "no-op callback handler (awaitHandlers)", run: () => noopAwaited.invoke(input) },
    { name: "instrument(graph, { metrics })", run: () => instrumented.invoke(input) },
  ],
  { batch: 20, time: 4000 },
);
/**
 * CPU time per invoke, interleaved in rounds, median of rounds: on a shared machine wall time carries other
 * processes' load, CPU time of this process much less.
 */
async function cpuPerInvoke(graphs: Record<string, { invoke(i: typeof input): Promise<unknown> }>, rounds = 15, perRound = 40) {
  const samples: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, graph] of Object.entries(graphs)) {
      const before = process.cpuUsage();
      for (let i = 0; i < perRound; i++) await graph.invoke(input);
      const used = process.cpuUsage(before);
      (samples[name] ??= []).push((used.user + used.system) / perRound);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number]),
  );
}
const cpu = await cpuPerInvoke({ bare, noop, noopAwaited, instrumented });

const floor = rows.find((r) => r.name.startsWith("no-op callback handler (default"));
const awaitedFloor = rows.find((r) => r.name.startsWith("no-op callback handler (awaitHandlers)"));
const kit = rows.find((r) => r.name.startsWith("instrument"));

// About 10k series: 525 nodes × (1 counter series + 18 histogram series) plus the fixed families.
const big = createMetrics({ maxLabelValues: 1000 });
const NODES = 525;
{
  const builder = new StateGraph(State);
  const names = Array.from({ length: NODES }, (_, i) => `node_${i}`);
  for (const name of names) builder.addNode(name, async () => ({ n: 1 }));
  // 5 graphs of 105 parallel nodes: LangGraph plans wide supersteps slowly, this is set-up only.
  for (let g = 0; g < 5; g++) {
    const part = new StateGraph(State);
    const slice = names.slice(g * 105, (g + 1) * 105);
    for (const name of slice) part.addNode(name, async () => ({ n: 1 }));
    await instrument(part.addConditionalEdges(START, () => slice).compile(), { metrics: big, name: "wide" }).invoke(input);
  }
}
const exposition = await big.text();
const series = exposition.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
const render = new Bench({ time: 2000, warmup: true });
render.add("metrics.text()", async () => {
  await big.text();
});
await render.run();
const renderCpu: number[] = [];
for (let r = 0; r < 30; r++) {
  const before = process.cpuUsage();
  await big.text();
  const used = process.cpuUsage(before);
  renderCpu.push((used.user + used.system) / 1000);
}
renderCpu.sort((a, b) => a - b);
const renderResult = render.tasks[0]?.result as unknown as { latency: { mean: number; rme: number } } | undefined;
const renderMs = renderResult?.latency ?? { mean: Number.NaN, rme: Number.NaN };

const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? (a / b).toFixed(3) : "n/a");
const report = `## instrument(graph, { metrics }): cost per invoke of a 10-node graph

${machine()}

${table(rows, "bare 10-node graph")}

- instrument(graph, { metrics }) / no-op handler (default): **${ratio(kit?.nsPerOp, floor?.nsPerOp)}×** (target ≤ 1.05×)
- instrument(graph, { metrics }) / no-op handler (awaitHandlers): **${ratio(kit?.nsPerOp, awaitedFloor?.nsPerOp)}×**

CPU time per invoke (µs, median of 15 interleaved rounds of 40): bare ${cpu.bare?.toFixed(0)}, no-op (default)
${cpu.noop?.toFixed(0)}, no-op (awaitHandlers) ${cpu.noopAwaited?.toFixed(0)}, instrument ${cpu.instrumented?.toFixed(0)}.

- CPU: instrument / no-op (default): **${ratio(cpu.instrumented, cpu.noop)}×**; instrument / no-op (awaitHandlers): **${ratio(cpu.instrumented, cpu.noopAwaited)}×**; instrument / bare: **${ratio(cpu.instrumented, cpu.bare)}×**

## /metrics render time

${series} series (sample lines) in the exposition: **${renderMs.mean.toFixed(2)} ms** per \`metrics.text()\` wall (± ${renderMs.rme.toFixed(1)} %), **${renderCpu[15]?.toFixed(2)} ms** CPU (median of 30); target < 20 ms
`;
console.log(report);
writeResults("bench/results/metrics.md", report);
metrics.close();
big.close();
