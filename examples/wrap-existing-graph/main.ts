/**
 * Making an existing graph production-grade: the agent from `../shared/agent.ts` is untouched except for the lines
 * marked `// +`. The call-model node gets a timeout, retries and a circuit breaker; the compiled graph gets metrics;
 * Prometheus scrapes them from `serveMetrics`.
 *
 * Run: npx tsx examples/wrap-existing-graph/main.ts   (METRICS_PORT=0 picks a free port instead of 9464)
 */
import { HumanMessage } from "@langchain/core/messages";
import { MemorySaver } from "@langchain/langgraph";
import { createMetrics, instrument, resilient, serveMetrics } from "../../src/index.js"; // + (in your app: "langgraph-ops")
import { agentBuilder, callModelNode } from "../shared/agent.js";
import { FakeChatModel } from "../shared/fake-chat-model.js";
import { runIfEntryPoint } from "../shared/run-main.js";

/** What one run of the example produced. */
export interface WrapExampleResult {
  /** The agent's final answer per question. */
  answers: string[];
  /** The `/metrics` page as scraped after the runs. */
  scrape: string;
  /** URL the metrics were served on (closed by the time `main` returns). */
  metricsUrl: string;
}

/** Options of {@link main}; the defaults are what `npx tsx` runs. */
export interface WrapExampleOptions {
  /** Port of the metrics server; 0 picks a free one. Default 9464. */
  port?: number;
}

function httpError(status: number): Error {
  return Object.assign(new Error(`provider answered ${status}`), { status });
}

/** Builds the wrapped, instrumented agent, answers two questions, scrapes `/metrics` and stops. */
export async function main(options: WrapExampleOptions = {}): Promise<WrapExampleResult> {
  // The provider fails once with a 503, as real ones do now and then: the retry absorbs it.
  let calls = 0;
  const model = new FakeChatModel({ latencyMs: 20, fail: () => (++calls === 1 ? httpError(503) : undefined) });

  // Before: const graph = agentBuilder(callModelNode(model)).compile({ checkpointer: new MemorySaver() });
  const callModel = resilient(callModelNode(model), {
    timeout: 30_000, // + per attempt; aborts the request
    retry: { retries: 3, minDelayMs: 100, maxElapsedMs: 60_000 }, // + backoff with jitter, honours Retry-After
    circuitBreaker: { name: "openai", volumeThreshold: 10, resetTimeout: 30_000 }, // + stop calling a provider that is down
  });
  const metrics = createMetrics(); // +
  const graph = instrument(agentBuilder(callModel).compile({ checkpointer: new MemorySaver() }), { metrics, name: "weather-agent" }); // +
  const server = await serveMetrics(metrics, { port: options.port ?? 9464 }); // +

  try {
    const answers: string[] = [];
    for (const [i, question] of ["What is the weather in Paris?", "And in Lisbon?"].entries()) {
      const result = await graph.invoke({ messages: [new HumanMessage(question)] }, { configurable: { thread_id: `example-${i}` } });
      answers.push(String(result.messages.at(-1)?.content ?? ""));
    }
    const scrape = await (await fetch(server.url)).text();
    return { answers, scrape, metricsUrl: server.url };
  } finally {
    await server.close();
  }
}

runIfEntryPoint(import.meta.url, async () => {
  const { answers, scrape, metricsUrl } = await main({ port: Number(process.env.METRICS_PORT ?? 9464) });
  for (const answer of answers) console.log(`agent: ${answer}`);
  console.log(`\nscraped ${metricsUrl}:`);
  const wanted = /^langgraph_(graph_runs_total|node_executions_total|node_retries_total)\{/;
  for (const line of scrape.split("\n")) if (wanted.test(line)) console.log(`  ${line}`);
});
