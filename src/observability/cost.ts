/**
 * What an LLM call cost, from the tokens LangChain reports (`usage_metadata`) and the user's price table. Computed
 * once per call by the run tracker; the metrics, the root span and the run's log line all read the same numbers.
 *
 * The billing rule (LangChain's `usage_metadata`, as `@langchain/openai` and `@langchain/anthropic` fill it):
 * - `input_tokens` counts every prompt token, the cached ones included (OpenAI's `prompt_tokens` already does;
 *   `@langchain/anthropic` adds `cache_read_input_tokens` and `cache_creation_input_tokens` to Anthropic's
 *   `input_tokens`). So `cached_input` = `input_token_details.cache_read`, `cache_write` =
 *   `input_token_details.cache_creation`, and `input` = `input_tokens - cache_read - cache_creation`.
 * - `output_tokens` counts every completion token, reasoning included (OpenAI's `completion_tokens` does). When the
 *   model's price has a `reasoning` rate, `reasoning` = `output_token_details.reasoning` and `output` =
 *   `output_tokens - reasoning`; otherwise reasoning tokens stay in `output`, billed at the output rate.
 * - Each type costs `tokens * rate / 1_000_000` USD; a call's cost is the sum over the types in the order input,
 *   cached_input, cache_write, output, reasoning. A type with tokens and no rate (or a model with no price) adds
 *   nothing to the cost: its tokens count as unpriced. No token is counted twice.
 */
import { PRICE_TOKEN_TYPES, type ModelPrice, type PriceBook, type PriceTokenType } from "./prices.js";
import type { TokenUsage } from "./runs/facts.js";

/** @internal Tokens of one call by billed type (disjoint: their sum is input + output). */
export type BilledTokens = Record<PriceTokenType, number>;

/** @internal The cost of one LLM call. */
export interface LlmCost {
  /** Tokens by billed type. */
  readonly tokens: BilledTokens;
  /** USD by type, for the types that had tokens and a rate. */
  readonly usd: Partial<Record<PriceTokenType, number>>;
  /** Tokens by type that had no rate. */
  readonly unpriced: Partial<Record<PriceTokenType, number>>;
  /** Sum of {@link LlmCost.usd}, in the order of the billing rule. */
  readonly totalUsd: number;
  /** Sum of {@link LlmCost.unpriced}. */
  readonly unpricedTokens: number;
}

/** @internal Tokens of `usage` by billed type; reasoning apart only when `splitReasoning`. */
export function billedTokens(usage: TokenUsage, splitReasoning: boolean): BilledTokens {
  const cacheRead = usage.cacheRead ?? 0;
  const cacheWrite = usage.cacheCreation ?? 0;
  const output = usage.output ?? 0;
  const reasoning = splitReasoning ? Math.min(usage.reasoning ?? 0, output) : 0;
  return {
    // Clamped: a provider that reports cache tokens outside input_tokens must not produce negative input.
    input: Math.max(0, (usage.input ?? 0) - cacheRead - cacheWrite),
    cached_input: cacheRead,
    cache_write: cacheWrite,
    output: output - reasoning,
    reasoning,
  };
}

/** @internal The cost of a call that used `usage`, priced by `price` (undefined: no price, every token unpriced). */
export function llmCost(usage: TokenUsage, price: ModelPrice | undefined): LlmCost {
  const tokens = billedTokens(usage, price?.reasoning !== undefined);
  const usd: Partial<Record<PriceTokenType, number>> = {};
  const unpriced: Partial<Record<PriceTokenType, number>> = {};
  let totalUsd = 0;
  let unpricedTokens = 0;
  for (const type of PRICE_TOKEN_TYPES) {
    const n = tokens[type];
    if (n === 0) continue;
    const rate = price?.[type];
    if (rate === undefined) {
      unpriced[type] = n;
      unpricedTokens += n;
    } else {
      const cost = (n * rate) / 1_000_000;
      usd[type] = cost;
      totalUsd += cost;
    }
  }
  return { tokens, usd, unpriced, totalUsd, unpricedTokens };
}

/**
 * @internal The cost of a call: priced by the response model's entry (the dated name the provider answered with),
 * else the request model's; undefined when the provider reported no tokens.
 */
export function callCost(
  usage: TokenUsage | undefined,
  responseModel: string | undefined,
  requestModel: string,
  book: PriceBook,
): LlmCost | undefined {
  if (usage === undefined || (usage.input === undefined && usage.output === undefined)) return undefined;
  return llmCost(usage, book.find(responseModel) ?? book.find(requestModel));
}

/** @internal Tokens and cost of one graph run, summed over its LLM calls. */
export interface RunUsage {
  /** LLM calls that reported tokens. */
  calls: number;
  /** LangChain's `input_tokens` (cached included) and `output_tokens` (reasoning included), summed. */
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
  reasoning: number;
  /** USD of the priced tokens, summed call by call. */
  costUsd: number;
  /** Tokens that had no price. The run's cost is complete only when this is 0. */
  unpricedTokens: number;
}

/** @internal Adds one call to a run's totals (creating them on the first call). */
export function addCall(run: RunUsage | undefined, usage: TokenUsage, cost: LlmCost): RunUsage {
  const totals = run ?? { calls: 0, input: 0, output: 0, cacheRead: 0, cacheCreation: 0, reasoning: 0, costUsd: 0, unpricedTokens: 0 };
  totals.calls += 1;
  totals.input += usage.input ?? 0;
  totals.output += usage.output ?? 0;
  totals.cacheRead += usage.cacheRead ?? 0;
  totals.cacheCreation += usage.cacheCreation ?? 0;
  totals.reasoning += usage.reasoning ?? 0;
  totals.costUsd += cost.totalUsd;
  totals.unpricedTokens += cost.unpricedTokens;
  return totals;
}

/**
 * @internal A run's totals as flat fields, the one naming the root span (`langgraph.run.<field>`) and the run's
 * final log line (`<field>`) share. `cost_usd` is left out when no token was priced (no prices, or none matching):
 * a run is never shown as free for want of a price; `unpriced_tokens` > 0 marks a cost that leaves tokens out.
 */
export function runUsageFields(usage: RunUsage): Record<string, number> {
  const fields: Record<string, number> = {
    llm_calls: usage.calls,
    input_tokens: usage.input,
    output_tokens: usage.output,
  };
  if (usage.cacheRead > 0) fields.cache_read_tokens = usage.cacheRead;
  if (usage.cacheCreation > 0) fields.cache_creation_tokens = usage.cacheCreation;
  if (usage.reasoning > 0) fields.reasoning_tokens = usage.reasoning;
  if (usage.costUsd > 0 || usage.unpricedTokens === 0) fields.cost_usd = usage.costUsd;
  if (usage.unpricedTokens > 0) fields.unpriced_tokens = usage.unpricedTokens;
  return fields;
}
