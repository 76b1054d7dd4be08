/**
 * The demo's support agent: chat model → tools → answer, and a refund subgraph with a human-approval interrupt and
 * a payment made through runOnce. Every node that calls a dependency is wrapped by the kit.
 */
import { tool } from "@langchain/core/tools";
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { Annotation, END, MessagesAnnotation, START, StateGraph, interrupt } from "@langchain/langgraph";
import type { BaseCheckpointSaver, LangGraphRunnableConfig } from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { z } from "zod";
import { type CircuitBreaker, idempotencyKey, resilient, runOnce, systemClock } from "../../src/index.js";
import type { SupportChatModel } from "./fake-model.js";
import { type FaultInjector, faultError } from "./faults.js";

export const AgentState = Annotation.Root({
  ...MessagesAnnotation.spec,
  refundAmount: Annotation<number | undefined>(),
  refundStatus: Annotation<string | undefined>(),
});
type State = typeof AgentState.State;

const lookupOrder = tool(async ({ orderId }) => JSON.stringify({ orderId, status: "shipped", eta: "2 days" }), {
  name: "lookup_order",
  description: "Looks up an order's shipping status.",
  schema: z.object({ orderId: z.string() }),
});

const searchKb = tool(async ({ query }) => `Article 42 answers "${query.slice(0, 40)}": open Settings → Security → Reset.`, {
  name: "search_kb",
  description: "Searches the help-center articles.",
  schema: z.object({ query: z.string() }),
});

/** Dependencies the agent is built from. */
export interface AgentDeps {
  model: SupportChatModel;
  /** Writes the answer once a tool has returned (a cheaper model for the easy turn); default: `model`. */
  answerModel?: SupportChatModel;
  llmBreaker: CircuitBreaker;
  paymentFaults: FaultInjector;
  checkpointer: BaseCheckpointSaver;
  /** Records payments made, to show runOnce keeps them at one per refund. */
  payments: Map<string, number>;
}

function refundSubgraph(deps: AgentDeps) {
  const checkPolicy = async (state: State) => {
    const question = String(state.messages.findLast((m) => m.getType() === "human")?.content ?? "");
    const amount = Number(/\$(\d+)/.exec(question)?.[1] ?? "25");
    return { refundAmount: amount };
  };
  const approval = async (state: State) => {
    if ((state.refundAmount ?? 0) <= 100) return { refundStatus: "auto-approved" };
    const decision = interrupt({ question: `Approve a refund of $${state.refundAmount}?` }) as string;
    return { refundStatus: decision === "approve" ? "approved" : "rejected" };
  };
  const issueRefund = async (state: State, config: LangGraphRunnableConfig) => {
    if (state.refundStatus === "rejected") return { messages: [new AIMessage("The refund was not approved.")] };
    const key = idempotencyKey(config, "payment");
    await runOnce(config, "payment", async () => {
      const fault = deps.paymentFaults.next();
      await systemClock.sleep(20, config.signal);
      if (fault.kind === "server_error" || fault.kind === "rate_limit") throw faultError(fault);
      deps.payments.set(key, (deps.payments.get(key) ?? 0) + 1);
      return { paymentId: key.slice(-12) };
    });
    return { messages: [new AIMessage(`Refund of $${state.refundAmount} issued.`)] };
  };
  return new StateGraph(AgentState)
    .addNode("check_policy", checkPolicy)
    .addNode("approval", approval)
    .addNode(
      "issue_refund",
      resilient(issueRefund, {
        retry: { retries: 3, minDelayMs: 50, maxDelayMs: 400 },
        bulkhead: { limit: 1, queue: 0 },
        timeout: 2000,
        fallback: () => ({ messages: [new AIMessage("Payments are down; your refund is queued for a human agent.")] }),
      }),
    )
    .addEdge(START, "check_policy")
    .addEdge("check_policy", "approval")
    .addEdge("approval", "issue_refund")
    .addEdge("issue_refund", END)
    .compile();
}

/** Builds and compiles the agent graph (not yet instrumented). */
export function buildSupportAgent(deps: AgentDeps) {
  const callModel = async (state: State, config: LangGraphRunnableConfig) => {
    const model = state.messages.at(-1) instanceof ToolMessage ? (deps.answerModel ?? deps.model) : deps.model;
    const response = await model.invoke(state.messages, config);
    return { messages: [response] };
  };
  const route = (state: State): "tools" | "refund" | typeof END => {
    const last = state.messages.at(-1);
    if (last instanceof AIMessage && (last.tool_calls?.length ?? 0) > 0) return "tools";
    const question = String(state.messages.findLast((m) => m.getType() === "human")?.content ?? "");
    if (/refund/i.test(question) && state.refundStatus === undefined) return "refund";
    return END;
  };
  return new StateGraph(AgentState)
    .addNode(
      "agent",
      resilient(callModel, {
        timeout: 1500,
        retry: { retries: 3, minDelayMs: 100, maxDelayMs: 2000, maxElapsedMs: 8000 },
        circuitBreaker: deps.llmBreaker,
      }),
    )
    .addNode("tools", new ToolNode([lookupOrder, searchKb]))
    .addNode("refund", refundSubgraph(deps))
    .addEdge(START, "agent")
    .addConditionalEdges("agent", route, ["tools", "refund", END])
    .addEdge("tools", "agent")
    .addEdge("refund", END)
    .compile({ checkpointer: deps.checkpointer, name: "support-agent" });
}
