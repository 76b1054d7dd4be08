/**
 * The agent the examples start from: a plain LangGraph.js ReAct loop (MessagesAnnotation, a chat model bound to one
 * tool, a ToolNode), written the way an application already has it, with nothing from langgraph-ops in it.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { tool } from "@langchain/core/tools";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { z } from "zod";

/** State of the agent. */
export type AgentState = typeof MessagesAnnotation.State;

/** A call-model node: `(state, config) => update`, the shape every kit wrapper accepts. */
export type AgentNode = (state: AgentState, config: LangGraphRunnableConfig) => Promise<Partial<AgentState>>;

/** The agent's one tool. */
export const getWeather = tool(async ({ city }) => `18°C and clear in ${city}`, {
  name: "get_weather",
  description: "Current weather for a city.",
  schema: z.object({ city: z.string() }),
});

/** The node that calls the model; passing `config` on lets cancellation and callbacks reach the model. */
export function callModelNode(model: BaseChatModel): AgentNode {
  const bound = model.bindTools?.([getWeather]) ?? model;
  return async (state, config) => ({ messages: [await bound.invoke(state.messages, config)] });
}

/** Routes to the tools while the last reply asks for them. */
export function routeAfterModel(state: AgentState): "tools" | typeof END {
  const last = state.messages.at(-1) as { tool_calls?: unknown[] } | undefined;
  return last?.tool_calls !== undefined && last.tool_calls.length > 0 ? "tools" : END;
}

/** The graph builder: `agent` (the model) ⇄ `tools`, with the call-model node it is given. */
export function agentBuilder(callModel: AgentNode) {
  return new StateGraph(MessagesAnnotation)
    .addNode("agent", callModel)
    .addNode("tools", new ToolNode([getWeather]))
    .addEdge(START, "agent")
    .addConditionalEdges("agent", routeAfterModel, ["tools", END])
    .addEdge("tools", "agent");
}
