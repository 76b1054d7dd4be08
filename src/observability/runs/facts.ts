/**
 * The facts every signal reads off a run, derived once: whether an error is a cancellation, the error's type, and
 * what an LLM run asked for (model, provider) and used (tokens by type). Metrics, spans and log lines all take these
 * values, so one run reads the same in all three.
 */

export { isAbortError } from "../../core/abort.js";

/** @internal Low-cardinality error type (`error.type`, `error_type`): the error's class name, never its message. */
export function errorType(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name !== "Error" ? error.name : error.constructor?.name;
    return typeof name === "string" && name !== "" ? name.slice(0, 64) : "Error";
  }
  return "_OTHER";
}

/** LangChain `ls_provider` values mapped to `gen_ai.provider.name` well-known values. */
const PROVIDERS: Readonly<Record<string, string>> = {
  openai: "openai",
  anthropic: "anthropic",
  azure: "azure.ai.openai",
  azure_openai: "azure.ai.openai",
  bedrock: "aws.bedrock",
  amazon_bedrock: "aws.bedrock",
  google_vertexai: "gcp.vertex_ai",
  vertexai: "gcp.vertex_ai",
  google_genai: "gcp.gemini",
  google: "gcp.gemini",
  mistral: "mistral_ai",
  mistralai: "mistral_ai",
  groq: "groq",
  deepseek: "deepseek",
  xai: "x_ai",
  cohere: "cohere",
  ollama: "ollama",
};

/** @internal `gen_ai.provider.name` for LangChain's `ls_provider`; unknown providers pass through, bounded in length. */
export function providerName(lsProvider: unknown): string {
  if (typeof lsProvider !== "string" || lsProvider === "") return "unknown";
  return PROVIDERS[lsProvider] ?? lsProvider.slice(0, 64);
}

type Md = Readonly<Record<string, unknown>> | undefined;

/** @internal The model name of an LLM run: LangChain's `ls_model_name`, else the invocation parameters. */
export function modelName(metadata: Md, invocation: Md): string {
  // Straight-line, no candidate array: this runs once per LLM call.
  const declared = metadata?.ls_model_name;
  if (typeof declared === "string" && declared !== "") return declared;
  if (invocation === undefined) return "unknown";
  for (const key of MODEL_PARAMS) {
    const value = invocation[key];
    if (typeof value === "string" && value !== "") return value;
  }
  return "unknown";
}

/** Invocation parameters providers name the model by, in order of preference. */
const MODEL_PARAMS = ["model", "model_name", "modelName"] as const;

/** @internal Token usage of one LLM result by type; undefined where the provider reported nothing. */
export interface TokenUsage {
  input: number | undefined;
  output: number | undefined;
  total: number | undefined;
  cacheRead: number | undefined;
  cacheCreation: number | undefined;
  reasoning: number | undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function add(sum: number | undefined, value: unknown): number | undefined {
  const n = count(value);
  return n === undefined ? sum : (sum ?? 0) + n;
}

interface UsageMetadata {
  input_tokens?: unknown;
  output_tokens?: unknown;
  total_tokens?: unknown;
  input_token_details?: { cache_read?: unknown; cache_creation?: unknown };
  output_token_details?: { reasoning?: unknown };
}

/** @internal The part of an LLM result usage is read from. */
export interface LlmOutputLike {
  generations?: ReadonlyArray<ReadonlyArray<{ readonly message?: unknown; readonly [key: string]: unknown }>>;
  llmOutput?: Record<string, unknown> | undefined;
}

/**
 * @internal Tokens of an LLM result: `usage_metadata` summed over every generation (a result with `n > 1` or a
 * batch has several), else the providers' `llmOutput` shapes (`tokenUsage`, `estimatedTokenUsage`, raw `usage`).
 */
export function tokenUsage(output: LlmOutputLike | undefined): TokenUsage {
  const usage: TokenUsage = {
    input: undefined,
    output: undefined,
    total: undefined,
    cacheRead: undefined,
    cacheCreation: undefined,
    reasoning: undefined,
  };
  let found = false;
  for (const generations of output?.generations ?? []) {
    for (const generation of generations) {
      const u = (generation.message as { usage_metadata?: UsageMetadata } | undefined)?.usage_metadata;
      if (u === undefined || u === null) continue;
      found = true;
      usage.input = add(usage.input, u.input_tokens);
      usage.output = add(usage.output, u.output_tokens);
      usage.total = add(usage.total, u.total_tokens);
      usage.cacheRead = add(usage.cacheRead, u.input_token_details?.cache_read);
      usage.cacheCreation = add(usage.cacheCreation, u.input_token_details?.cache_creation);
      usage.reasoning = add(usage.reasoning, u.output_token_details?.reasoning);
    }
  }
  if (found && (usage.input !== undefined || usage.output !== undefined)) return usage;
  const llmOutput = output?.llmOutput as Record<string, Record<string, unknown> | undefined> | undefined;
  const counted = llmOutput?.tokenUsage ?? llmOutput?.estimatedTokenUsage;
  if (counted !== undefined && counted !== null) {
    usage.input = count(counted.promptTokens);
    usage.output = count(counted.completionTokens);
    usage.total = count(counted.totalTokens);
    return usage;
  }
  const raw = llmOutput?.usage;
  if (raw !== undefined && raw !== null) {
    usage.input = count(raw.input_tokens ?? raw.prompt_tokens);
    usage.output = count(raw.output_tokens ?? raw.completion_tokens);
    usage.total = count(raw.total_tokens);
  }
  return usage;
}

/** @internal The model the provider answered with (often a dated name: `gpt-4o-2024-08-06`), when the result names one. */
export function responseModel(output: LlmOutputLike | undefined): string | undefined {
  const generation = output?.generations?.[0]?.[0];
  const rm = (generation?.message as { response_metadata?: Record<string, unknown> } | undefined)?.response_metadata;
  // Streamed ChatOpenAI results carry it on the generation (from the finishing chunk), not on the message.
  const info = generation?.generationInfo as Record<string, unknown> | undefined;
  const model = rm?.model_name ?? rm?.model ?? info?.model_name ?? output?.llmOutput?.model_name;
  return typeof model === "string" && model !== "" ? model : undefined;
}

/**
 * @internal Whether a streamed chunk carries output: text, or a tool-call fragment. The role-only chunk OpenAI sends
 * first and the usage-only chunk it sends last carry neither, and are not the "first chunk" of time to first chunk.
 */
export function isOutputChunk(token: unknown, chunk: unknown): boolean {
  if (typeof token === "string" && token !== "") return true;
  const calls = (chunk as { message?: { tool_call_chunks?: unknown } } | undefined)?.message?.tool_call_chunks;
  return Array.isArray(calls) && calls.length > 0;
}
