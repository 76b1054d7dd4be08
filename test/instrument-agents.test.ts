import { type AIMessage, HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { createReactAgent, ToolNode } from "@langchain/langgraph/prebuilt";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { instrument } from "../src/observability/instrument.js";
import { createMetrics } from "../src/observability/metrics.js";
import { ScriptedChatModel, sum } from "./metrics-fixtures.js";

let toolFailures = 0;
const add = tool(async ({ a, b }: { a: number; b: number }) => String(a + b), {
  name: "add",
  description: "adds two numbers",
  schema: z.object({ a: z.number(), b: z.number() }),
});
const flaky = tool(
  async () => {
    toolFailures += 1;
    throw new Error("tool backend down");
  },
  { name: "flaky_lookup", description: "always fails", schema: z.object({}) },
);

const GEN = { gen_ai_operation_name: "chat", gen_ai_provider_name: "fakeai", gen_ai_request_model: "fake-model-1" };

describe("agents", () => {
  it("createReactAgent with a fake tool-calling model: LLM calls, tokens and tool calls match ground truth", async () => {
    const model = new ScriptedChatModel([
      {
        toolCalls: [
          { name: "add", args: { a: 1, b: 2 } },
          { name: "flaky_lookup", args: {} },
        ],
      },
      { content: "3" },
    ]);
    const metrics = createMetrics();
    const agent = instrument(createReactAgent({ llm: model, tools: [add, flaky] }), { metrics, name: "react" });
    const N = 4;
    toolFailures = 0;
    for (let i = 0; i < N; i++) {
      const out = await agent.invoke({ messages: [new HumanMessage("1+2?")] });
      expect(out.messages.at(-1)?.content).toBe("3");
    }
    const llmCalls = model.calls;
    expect(llmCalls).toBe(2 * N);
    const g = { graph: "react" };
    expect(await sum(metrics, "langgraph_graph_runs_total", { ...g, status: "success" })).toBe(N);
    expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "agent", status: "success" })).toBe(llmCalls);
    expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "tools", status: "success" })).toBe(N);
    expect(await sum(metrics, "langgraph_tool_calls_total", { ...g, tool: "add", status: "success" })).toBe(N);
    expect(await sum(metrics, "langgraph_tool_calls_total", { ...g, tool: "flaky_lookup", status: "error" })).toBe(toolFailures);
    expect(toolFailures).toBe(N);
    expect(await sum(metrics, "langgraph_tool_duration_seconds_count", g)).toBe(2 * N);
    expect(await sum(metrics, "gen_ai_client_operation_duration_seconds_count", { ...GEN, error_type: "" })).toBe(llmCalls);
    expect(await sum(metrics, "gen_ai_client_token_usage_count", { ...GEN, gen_ai_token_type: "input" })).toBe(llmCalls);
    expect(await sum(metrics, "gen_ai_client_token_usage_sum", { ...GEN, gen_ai_token_type: "input" })).toBe(11 * llmCalls);
    expect(await sum(metrics, "gen_ai_client_token_usage_sum", { ...GEN, gen_ai_token_type: "output" })).toBe(7 * llmCalls);
    expect(await sum(metrics, "langgraph_graph_runs_in_flight", g)).toBe(0);
  });

  it("MessagesAnnotation agent streamed with messages mode; a failing model call lands in error_type", async () => {
    const model = new ScriptedChatModel([{ toolCalls: [{ name: "add", args: { a: 2, b: 2 } }] }, { content: "4" }]);
    const broken = new ScriptedChatModel([{ fail: Object.assign(new Error("overloaded"), { status: 529 }) }], "fake-model-2");
    const callModel = async (state: typeof MessagesAnnotation.State) => {
      const last = state.messages.at(-1);
      if (last instanceof HumanMessage && last.content === "break") return { messages: [await broken.invoke(state.messages)] };
      return { messages: [await model.invoke(state.messages)] };
    };
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("call_model", callModel)
      .addNode("tools", new ToolNode([add]))
      .addEdge(START, "call_model")
      .addConditionalEdges("call_model", (s) => ((s.messages.at(-1) as AIMessage).tool_calls?.length ? "tools" : END), ["tools", END])
      .addEdge("tools", "call_model")
      .compile();
    const metrics = createMetrics();
    const agent = instrument(graph, { metrics, name: "messages-agent" });
    const N = 3;
    for (let i = 0; i < N; i++) {
      for await (const _ of await agent.stream({ messages: [new HumanMessage("2+2?")] }, { streamMode: ["messages", "updates"] })) {
        // consume
      }
    }
    await expect(agent.invoke({ messages: [new HumanMessage("break")] })).rejects.toThrow("overloaded");
    const g = { graph: "messages-agent" };
    expect(await sum(metrics, "langgraph_graph_runs_total", { ...g, status: "success" })).toBe(N);
    expect(await sum(metrics, "langgraph_graph_runs_total", { ...g, status: "error" })).toBe(1);
    expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "call_model", status: "success" })).toBe(2 * N);
    expect(await sum(metrics, "langgraph_node_executions_total", { ...g, node: "call_model", status: "error" })).toBe(1);
    expect(await sum(metrics, "langgraph_tool_calls_total", { ...g, tool: "add", status: "success" })).toBe(N);
    expect(await sum(metrics, "gen_ai_client_operation_duration_seconds_count", { ...GEN, error_type: "" })).toBe(2 * N);
    expect(
      await sum(metrics, "gen_ai_client_operation_duration_seconds_count", {
        ...GEN,
        gen_ai_request_model: "fake-model-2",
        // The class name, as on the span; the status stays on the span (langgraph.error.status) and the log line.
        error_type: "Error",
      }),
    ).toBe(1);
    expect(await sum(metrics, "gen_ai_client_token_usage_sum", { ...GEN, gen_ai_token_type: "output" })).toBe(7 * 2 * N);
  });
});
