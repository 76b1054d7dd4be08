/**
 * Span attribute keys and pure builders: OpenTelemetry GenAI semantic conventions (v1.45) plus the `langfuse.*` keys
 * Langfuse reads, so the same spans render in Langfuse and in any OTLP backend.
 */
import type { Attributes } from "@opentelemetry/api";
import { type LlmCost, type RunUsage, runUsageFields } from "../cost.js";
import { type LlmOutputLike, responseModel, type TokenUsage } from "../runs/facts.js";

/** @internal Attribute keys used by the kit's spans. */
export const ATTR = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  conversationId: "gen_ai.conversation.id",
  workflowName: "gen_ai.workflow.name",
  agentName: "gen_ai.agent.name",
  requestModel: "gen_ai.request.model",
  responseModel: "gen_ai.response.model",
  responseId: "gen_ai.response.id",
  finishReasons: "gen_ai.response.finish_reasons",
  timeToFirstChunk: "gen_ai.response.time_to_first_chunk",
  requestStream: "gen_ai.request.stream",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  cacheReadTokens: "gen_ai.usage.cache_read.input_tokens",
  cacheCreationTokens: "gen_ai.usage.cache_creation.input_tokens",
  reasoningTokens: "gen_ai.usage.reasoning.output_tokens",
  inputMessages: "gen_ai.input.messages",
  outputMessages: "gen_ai.output.messages",
  toolName: "gen_ai.tool.name",
  toolCallId: "gen_ai.tool.call.id",
  toolType: "gen_ai.tool.type",
  toolArguments: "gen_ai.tool.call.arguments",
  toolResult: "gen_ai.tool.call.result",
  errorType: "error.type",
  errorReason: "langgraph.error.reason",
  errorStatus: "langgraph.error.status",
  errorCode: "langgraph.error.code",
  exceptionType: "exception.type",
  exceptionMessage: "exception.message",
  exceptionStacktrace: "exception.stacktrace",
  userId: "user.id",
  lfType: "langfuse.observation.type",
  lfInput: "langfuse.observation.input",
  lfOutput: "langfuse.observation.output",
  lfUsageDetails: "langfuse.observation.usage_details",
  lfCompletionStart: "langfuse.observation.completion_start_time",
  lfTraceName: "langfuse.trace.name",
  lfTraceTags: "langfuse.trace.tags",
  lfSessionId: "langfuse.session.id",
  lfUserId: "langfuse.user.id",
  threadId: "langgraph.thread_id",
  checkpointNs: "langgraph.checkpoint_ns",
  node: "langgraph.node",
  step: "langgraph.step",
  triggers: "langgraph.triggers",
  path: "langgraph.path",
  attempt: "langgraph.attempt",
  runStatus: "langgraph.run.status",
  /** Prefix of a root span's LLM totals: `langgraph.run.cost_usd`, `langgraph.run.input_tokens`… */
  runUsagePrefix: "langgraph.run.",
  llmCostUsd: "langgraph.llm.cost_usd",
  llmUnpricedTokens: "langgraph.llm.unpriced_tokens",
} as const;

/** @internal A root span's LLM totals: tokens, calls and cost of the run (see `runUsageFields`). */
export function runUsageAttributes(usage: RunUsage): Attributes {
  const attrs: Attributes = {};
  for (const [key, value] of Object.entries(runUsageFields(usage))) attrs[`${ATTR.runUsagePrefix}${key}`] = value;
  return attrs;
}

/** @internal An LLM span's cost, when any of its tokens were priced; its unpriced tokens, when some were not. */
export function llmCostAttributes(cost: LlmCost): Attributes {
  const attrs: Attributes = {};
  if (cost.totalUsd > 0 || cost.unpricedTokens === 0) attrs[ATTR.llmCostUsd] = cost.totalUsd;
  if (cost.unpricedTokens > 0) attrs[ATTR.llmUnpricedTokens] = cost.unpricedTokens;
  return attrs;
}

type Md = Readonly<Record<string, unknown>> | undefined;

/** @internal Attributes shared by every span of a run: workflow name and conversation. */
export function baseAttributes(graph: string, metadata: Md): Attributes {
  const attrs: Attributes = { [ATTR.workflowName]: graph };
  const thread = metadata?.thread_id;
  if (typeof thread === "string" && thread !== "") {
    attrs[ATTR.conversationId] = thread;
    attrs[ATTR.lfSessionId] = thread;
  }
  return attrs;
}

/** @internal Root span attributes. */
export function rootAttributes(
  graph: string,
  metadata: Md,
  agent: boolean,
  userId: string | undefined,
  tags: string[] | undefined,
): Attributes {
  const attrs = baseAttributes(graph, metadata);
  attrs[ATTR.operationName] = agent ? "invoke_agent" : "invoke_workflow";
  if (agent) attrs[ATTR.agentName] = graph;
  attrs[ATTR.lfType] = agent ? "agent" : "chain";
  attrs[ATTR.lfTraceName] = graph;
  const thread = attrs[ATTR.conversationId];
  if (thread !== undefined) attrs[ATTR.threadId] = thread;
  const ns = metadata?.checkpoint_ns;
  if (typeof ns === "string" && ns !== "") attrs[ATTR.checkpointNs] = ns;
  if (userId !== undefined && userId !== "") {
    attrs[ATTR.userId] = userId;
    attrs[ATTR.lfUserId] = userId;
  }
  if (tags !== undefined && tags.length > 0) attrs[ATTR.lfTraceTags] = tags;
  return attrs;
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  // Usually all strings already: reuse the array (the SDK copies attribute arrays) instead of allocating per span.
  for (const v of value) if (typeof v !== "string") return value.map((x) => String(x));
  return value as string[];
}

/** @internal Node span attributes, from the `langgraph_*` metadata LangGraph puts on every node run. */
export function nodeAttributes(graph: string, node: string, metadata: Md): Attributes {
  // One literal with the keys every node span has: this runs once per node attempt of every instrumented run.
  const attrs: Attributes = { [ATTR.workflowName]: graph, [ATTR.lfType]: "chain", [ATTR.node]: node };
  if (metadata === undefined) return attrs;
  const thread = metadata.thread_id;
  if (typeof thread === "string" && thread !== "") {
    attrs[ATTR.conversationId] = thread;
    attrs[ATTR.lfSessionId] = thread;
  }
  const step = metadata.langgraph_step;
  if (typeof step === "number") attrs[ATTR.step] = step;
  const triggers = stringList(metadata.langgraph_triggers);
  if (triggers !== undefined) attrs[ATTR.triggers] = triggers;
  const path = stringList(metadata.langgraph_path);
  if (path !== undefined) attrs[ATTR.path] = path;
  const ns = metadata.checkpoint_ns;
  if (typeof ns === "string" && ns !== "") attrs[ATTR.checkpointNs] = ns;
  return attrs;
}

/** @internal LLM span attributes at start. */
export function llmAttributes(graph: string, metadata: Md, invocation: Md, model: string, provider: string, chat: boolean): Attributes {
  const attrs = baseAttributes(graph, metadata);
  attrs[ATTR.operationName] = chat ? "chat" : "text_completion";
  attrs[ATTR.providerName] = provider;
  attrs[ATTR.requestModel] = model;
  attrs[ATTR.lfType] = "generation";
  const temperature = metadata?.ls_temperature ?? invocation?.temperature;
  if (typeof temperature === "number") attrs["gen_ai.request.temperature"] = temperature;
  const maxTokens = metadata?.ls_max_tokens ?? invocation?.max_tokens ?? invocation?.maxTokens ?? invocation?.max_completion_tokens;
  if (typeof maxTokens === "number") attrs["gen_ai.request.max_tokens"] = maxTokens;
  const topP = invocation?.top_p ?? invocation?.topP;
  if (typeof topP === "number") attrs["gen_ai.request.top_p"] = topP;
  const topK = invocation?.top_k ?? invocation?.topK;
  if (typeof topK === "number") attrs["gen_ai.request.top_k"] = topK;
  const seed = invocation?.seed;
  if (typeof seed === "number") attrs["gen_ai.request.seed"] = seed;
  const stop = stringList(metadata?.ls_stop ?? invocation?.stop);
  if (stop !== undefined && stop.length > 0) attrs["gen_ai.request.stop_sequences"] = stop;
  if (invocation?.stream === true || invocation?.streaming === true) attrs[ATTR.requestStream] = true;
  return attrs;
}

/** @internal Tool span attributes at start. */
export function toolAttributes(graph: string, metadata: Md, tool: string, callId: string | undefined): Attributes {
  const attrs = baseAttributes(graph, metadata);
  attrs[ATTR.operationName] = "execute_tool";
  attrs[ATTR.toolName] = tool;
  attrs[ATTR.toolType] = "function";
  attrs[ATTR.lfType] = "tool";
  if (callId !== undefined && callId !== "") attrs[ATTR.toolCallId] = callId;
  return attrs;
}

interface GenerationLike {
  text?: string;
  generationInfo?: Record<string, unknown>;
  message?: { id?: unknown; response_metadata?: Record<string, unknown> };
}

/** @internal What an LLM result contributes to its span: usage (parsed once by the run tracker), response model/id, finish reasons. */
export function llmEndAttributes(
  generations: GenerationLike[][] | undefined,
  llmOutput: Record<string, unknown> | undefined,
  usage: TokenUsage | undefined,
): Attributes {
  const attrs: Attributes = {};
  const message = generations?.[0]?.[0]?.message;
  if (usage !== undefined && (usage.input !== undefined || usage.output !== undefined)) {
    const input = usage.input ?? 0;
    const output = usage.output ?? 0;
    const cacheRead = usage.cacheRead ?? 0;
    const cacheCreation = usage.cacheCreation ?? 0;
    const reasoning = usage.reasoning ?? 0;
    attrs[ATTR.inputTokens] = input;
    attrs[ATTR.outputTokens] = output;
    if (cacheRead > 0) attrs[ATTR.cacheReadTokens] = cacheRead;
    if (cacheCreation > 0) attrs[ATTR.cacheCreationTokens] = cacheCreation;
    if (reasoning > 0) attrs[ATTR.reasoningTokens] = reasoning;
    // Langfuse sums the detail keys it is given, so every key is disjoint: cached and reasoning tokens are carved out.
    const details: Record<string, number> = {
      input: Math.max(0, input - cacheRead - cacheCreation),
      output: Math.max(0, output - reasoning),
      total: usage.total ?? input + output,
    };
    if (cacheRead > 0) details.input_cache_read = cacheRead;
    if (cacheCreation > 0) details.input_cache_creation = cacheCreation;
    if (reasoning > 0) details.output_reasoning = reasoning;
    attrs[ATTR.lfUsageDetails] = JSON.stringify(details);
  }
  const rm = message?.response_metadata;
  const answered = responseModel({ generations, llmOutput } as LlmOutputLike);
  if (answered !== undefined) attrs[ATTR.responseModel] = answered;
  const id = message?.id ?? rm?.id;
  if (typeof id === "string" && id !== "") attrs[ATTR.responseId] = id;
  const reasons: string[] = [];
  for (const group of generations ?? []) {
    for (const g of group) {
      const r = g.generationInfo?.finish_reason ?? g.message?.response_metadata?.finish_reason ?? g.message?.response_metadata?.stop_reason;
      if (typeof r === "string") reasons.push(r);
    }
  }
  if (reasons.length > 0) attrs[ATTR.finishReasons] = reasons;
  return attrs;
}
