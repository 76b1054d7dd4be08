/**
 * Resilience for agents whose nodes you don't write: a `createAgent` agent with `resilienceMiddleware` and a
 * `createReactAgent` agent with `resilientModel`, both on the offline fake chat model, which fails its first calls
 * with a 503 as a provider would. The retries absorb the faults, the idempotent tool charges once, and the retries
 * show up in the metrics under each agent's model node.
 *
 * Run: npx tsx examples/create-agent/main.ts
 */
import { HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { MemorySaver } from "@langchain/langgraph";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { createAgent } from "langchain";
import { z } from "zod";
import { createMetrics, InMemoryIdempotencyStore, instrument, resilientModel, runOnce } from "../../src/index.js"; // in your app: "langgraph-ops"
import { resilienceMiddleware } from "../../src/integrations/langchain.js"; // in your app: "langgraph-ops/langchain"
import { getWeather } from "../shared/agent.js";
import { FakeChatModel } from "../shared/fake-chat-model.js";
import { runIfEntryPoint } from "../shared/run-main.js";

/** What one run of the example produced. */
export interface CreateAgentExampleResult {
  /** Final answer of each agent. */
  answers: { createAgent: string; createReactAgent: string };
  /** Provider calls each fake model received (failed ones included). */
  providerCalls: { createAgent: number; createReactAgent: number };
  /** How many times the weather lookup's side effect ran. */
  lookups: number;
  /** The retry series of the scrape. */
  retryLines: string[];
}

function flaky(failures: number): { model: FakeChatModel; calls: () => number } {
  let calls = 0;
  const fail = () => (++calls <= failures ? Object.assign(new Error("provider answered 503"), { status: 503 }) : undefined);
  return { model: new FakeChatModel({ latencyMs: 5, fail }), calls: () => calls };
}

/** Runs both agents once and reads their metrics. */
export async function main(): Promise<CreateAgentExampleResult> {
  const metrics = createMetrics();
  const store = new InMemoryIdempotencyStore();

  // A tool with a side effect: runOnce records it per tool call, so a retry or a resume does not repeat it.
  let lookups = 0;
  const weather = tool(
    async ({ city }: { city: string }, config) => {
      const lookup = () => {
        lookups += 1;
        return `18°C and clear in ${city}`;
      };
      return runOnce(config, "lookup", lookup, { store });
    },
    { name: getWeather.name, description: getWeather.description, schema: z.object({ city: z.string() }) },
  );

  // createAgent: the middleware wraps every model and tool call.
  const primary = flaky(2);
  const agent = instrument(
    createAgent({
      model: primary.model,
      tools: [weather],
      checkpointer: new MemorySaver(),
      middleware: [
        resilienceMiddleware({
          model: { timeout: 30_000, retry: { retries: 3, minDelayMs: 50 }, circuitBreaker: { name: "fake-provider" } },
          tools: { timeout: 10_000, retry: { retries: 2, minDelayMs: 50 }, idempotent: true, store },
          onFailure: "message",
        }),
      ],
    }),
    { metrics, name: "create-agent" },
  );

  // createReactAgent: the model itself is resilient.
  const react = flaky(1);
  const llm = resilientModel(react.model, { timeout: 30_000, retry: { retries: 3, minDelayMs: 50 } });
  const reactAgent = instrument(createReactAgent({ llm, tools: [getWeather] }), { metrics, name: "react-agent" });

  const question = { messages: [new HumanMessage("What is the weather in Paris?")] };
  const a = await agent.invoke(question, { configurable: { thread_id: "create-agent-1" } });
  const b = await reactAgent.invoke(question);
  const scrape = await metrics.text();
  return {
    answers: { createAgent: String(a.messages.at(-1)?.content), createReactAgent: String(b.messages.at(-1)?.content) },
    providerCalls: { createAgent: primary.calls(), createReactAgent: react.calls() },
    lookups,
    retryLines: scrape.split("\n").filter((l) => l.startsWith("langgraph_node_retries_total{")),
  };
}

runIfEntryPoint(import.meta.url, async () => {
  const result = await main();
  console.log(`createAgent: ${result.answers.createAgent} (${result.providerCalls.createAgent} provider calls)`);
  console.log(`createReactAgent: ${result.answers.createReactAgent} (${result.providerCalls.createReactAgent} provider calls)`);
  console.log(`weather lookups: ${result.lookups}`);
  for (const line of result.retryLines) console.log(`  ${line}`);
});
