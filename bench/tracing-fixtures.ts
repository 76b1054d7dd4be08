/**
 * Graphs shared by the tracing benchmark and the tracing/logging tests: a scripted chat model that reports
 * `usage_metadata` like a real provider, a real tool, a ReAct-style agent with a subgraph, and a 10-node chain.
 */
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { BaseChatModel, type BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, type BaseMessage, ToolMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import { tool } from "@langchain/core/tools";
import { Annotation, END, interrupt, type LangGraphRunnableConfig, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import { z } from "zod";

/** Model name the scripted model reports. */
export const FAKE_MODEL = "fake-gpt-4o-mini";

/**
 * A chat model that asks for the `search` tool once, then answers. It reports provider `openai` and usage like
 * OpenAI does (`usage_metadata` with cached input tokens), so tracing sees what it would see in production.
 */
export class ScriptedChatModel extends BaseChatModel {
  constructor(fields: BaseChatModelParams = {}) {
    super(fields);
  }

  _llmType(): string {
    return "scripted";
  }

  override getLsParams(options: this["ParsedCallOptions"]) {
    return {
      ...super.getLsParams(options),
      ls_provider: "openai",
      ls_model_name: FAKE_MODEL,
      ls_model_type: "chat" as const,
      ls_temperature: 0,
    };
  }

  /** Tools are part of the script already; binding returns the model itself. */
  override bindTools(): this {
    return this;
  }

  #reply(messages: BaseMessage[]): AIMessage {
    const sawTool = messages.some((m) => m instanceof ToolMessage || m.getType() === "tool");
    const usage = { input_tokens: 12, output_tokens: 5, total_tokens: 17, input_token_details: { cache_read: 2 } };
    if (!sawTool) {
      return new AIMessage({
        content: "",
        id: "resp-1",
        tool_calls: [{ id: "call-1", name: "search", args: { query: "weather" }, type: "tool_call" }],
        usage_metadata: usage,
        response_metadata: { model_name: `${FAKE_MODEL}-2024-07-18`, finish_reason: "tool_calls" },
      });
    }
    return new AIMessage({
      content: "It is sunny.",
      id: "resp-2",
      usage_metadata: usage,
      response_metadata: { model_name: `${FAKE_MODEL}-2024-07-18`, finish_reason: "stop" },
    });
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const message = this.#reply(messages);
    return { generations: [{ message, text: typeof message.content === "string" ? message.content : "" }] };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    _options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const full = this.#reply(messages);
    const text = typeof full.content === "string" ? full.content : "";
    const pieces = text === "" ? [""] : text.split(/(?<= )/);
    for (let i = 0; i < pieces.length; i++) {
      const last = i === pieces.length - 1;
      const chunk = new ChatGenerationChunk({
        text: pieces[i] ?? "",
        message: new AIMessageChunk({
          content: pieces[i] ?? "",
          id: full.id,
          tool_call_chunks: last
            ? (full.tool_calls ?? []).map((c, index) => ({ ...c, args: JSON.stringify(c.args), index, type: "tool_call_chunk" as const }))
            : [],
          usage_metadata: last ? full.usage_metadata : undefined,
          response_metadata: last ? full.response_metadata : {},
        }),
      });
      yield chunk;
      await runManager?.handleLLMNewToken(pieces[i] ?? "", undefined, undefined, undefined, undefined, { chunk });
    }
  }
}

/** A real tool: looks the query up in a table. */
export const searchTool = tool(async ({ query }: { query: string }) => `results for ${query}: sunny`, {
  name: "search",
  description: "Search the weather table.",
  schema: z.object({ query: z.string() }),
});

/** State of the agent graph: messages plus a mode switch and a field tests put a canary secret in. */
export const AgentState = Annotation.Root({
  ...MessagesAnnotation.spec,
  mode: Annotation<string>({ reducer: (_a, b) => b, default: () => "ok" }),
  secret: Annotation<string>({ reducer: (_a, b) => b, default: () => "" }),
  approved: Annotation<boolean>({ reducer: (_a, b) => b, default: () => false }),
});

type S = typeof AgentState.State;

/** Hooks the tests use to act inside a node. */
export interface AgentHooks {
  /** Wraps the `prepare` node function (e.g. with `resilient`); default: identity. */
  wrapPrepare?: (
    node: (s: S, c: LangGraphRunnableConfig) => Promise<Partial<S>>,
  ) => (s: S, c: LangGraphRunnableConfig) => Promise<Partial<S>>;
  /** Called inside `prepare`. */
  onPrepare?: (config: LangGraphRunnableConfig) => Promise<void> | void;
}

/**
 * prepare → agent ⇄ tools → review (subgraph: check, which interrupts in mode "interrupt") → finish (throws in mode "error").
 */
export function buildAgentGraph(model: BaseChatModel = new ScriptedChatModel(), hooks: AgentHooks = {}) {
  const review = new StateGraph(AgentState)
    .addNode("check", (s: S) => {
      if (s.mode === "interrupt") {
        const answer = interrupt({ question: "approve?" }) as boolean;
        return { approved: answer };
      }
      return { approved: true };
    })
    .addEdge(START, "check")
    .addEdge("check", END)
    .compile({ name: "review" });
  const prepare = async (_s: S, config: LangGraphRunnableConfig): Promise<Partial<S>> => {
    await hooks.onPrepare?.(config);
    return {};
  };
  return new StateGraph(AgentState)
    .addNode("prepare", hooks.wrapPrepare ? hooks.wrapPrepare(prepare) : prepare)
    .addNode("agent", async (s: S, config: LangGraphRunnableConfig) => ({ messages: [await model.invoke(s.messages, config)] }))
    .addNode("tools", new ToolNode([searchTool]))
    .addNode("review", review)
    .addNode("finish", (s: S) => {
      if (s.mode === "error") throw new RangeError("finish failed");
      return {};
    })
    .addEdge(START, "prepare")
    .addEdge("prepare", "agent")
    .addConditionalEdges("agent", toolsCondition, { tools: "tools", __end__: "review" })
    .addEdge("tools", "agent")
    .addEdge("review", "finish")
    .addEdge("finish", END);
}

const ChainState = Annotation.Root({ n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }) });

/** A linear graph of `size` trivial nodes: the per-node overhead benchmark. */
export function buildChainGraph(size = 10) {
  const builder = new StateGraph(ChainState) as unknown as StateGraph<typeof ChainState.spec>;
  const b = builder as unknown as {
    addNode(name: string, fn: (s: { n: number }) => { n: number }): typeof b;
    addEdge(from: string, to: string): typeof b;
    compile(): ReturnType<StateGraph<typeof ChainState.spec>["compile"]>;
  };
  for (let i = 0; i < size; i++) b.addNode(`n${i}`, (s) => ({ n: s.n + 1 }));
  b.addEdge(START, "n0");
  for (let i = 1; i < size; i++) b.addEdge(`n${i - 1}`, `n${i}`);
  b.addEdge(`n${size - 1}`, END);
  return b.compile();
}
