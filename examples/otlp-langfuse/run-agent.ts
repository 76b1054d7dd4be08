/**
 * The part both telemetry examples share: the weather agent, instrumented with tracing, answering one question in a
 * thread (the thread id becomes the trace's session in Langfuse and `gen_ai.conversation.id`).
 */
import { HumanMessage } from "@langchain/core/messages";
import { MemorySaver } from "@langchain/langgraph";
import type { Counter } from "prom-client";
import { instrument, type Metrics } from "../../src/index.js";
import { agentBuilder, callModelNode } from "../shared/agent.js";
import { FakeChatModel } from "../shared/fake-chat-model.js";

/** Runs the traced agent once and returns its answer. */
export async function askTracedAgent(question: string, threadId: string): Promise<string> {
  const graph = instrument(agentBuilder(callModelNode(new FakeChatModel({ latencyMs: 20 }))).compile({ checkpointer: new MemorySaver() }), {
    name: "weather-agent",
    // `agent` marks the root span as an agent run (Langfuse type "agent", `invoke_agent`); user ids come from metadata.
    tracing: { kind: "agent", userId: (metadata) => metadata.user_id as string | undefined, tags: ["example"] },
  });
  const result = await graph.invoke(
    { messages: [new HumanMessage(question)] },
    { configurable: { thread_id: threadId }, metadata: { user_id: "user-42" } },
  );
  return String(result.messages.at(-1)?.content ?? "");
}

/**
 * One line per exporter from `langgraph_trace_export_spans_total`: what an operator would read on /metrics to see
 * whether the collector and Langfuse are taking the spans.
 */
export async function exportReport(metrics: Metrics): Promise<string> {
  const { values } = await (metrics.registry.getSingleMetric(`${metrics.prefix}trace_export_spans_total`) as Counter).get();
  const byExporter = new Map<string, { success: number; failure: number }>();
  for (const v of values) {
    const name = String(v.labels.exporter);
    const row = byExporter.get(name) ?? { success: 0, failure: 0 };
    if (v.labels.result === "success") row.success += v.value;
    else row.failure += v.value;
    byExporter.set(name, row);
  }
  return [...byExporter]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, r]) => `exported spans: ${name} ${r.success} ok, ${r.failure} failed`)
    .join("\n");
}
