/**
 * What the rate limiter reads from calls: a token estimate from the prompt before a call, the real token usage from
 * its result after, and what a provider's 429 says about its limits (`x-ratelimit-remaining-*`, `x-ratelimit-reset-*`,
 * `anthropic-ratelimit-*`, `retry-after`). Pure functions of plain values; LangChain messages are read by shape.
 */
import { causeChain } from "./error-fields.js";
import { headerOf, parseResetDuration, retryAfterFromHeaders } from "./retry-after.js";

/** Characters per token of the default estimate (the usual rule of thumb for English text and code). */
const CHARS_PER_TOKEN = 4;
/** Tokens a chat API adds per message (role and separators). */
const TOKENS_PER_MESSAGE = 4;
const MAX_DEPTH = 4;

function textLength(content: unknown): number {
  if (typeof content === "string") return content.length;
  if (Array.isArray(content)) {
    let n = 0;
    for (const part of content) {
      if (typeof part === "string") n += part.length;
      else if (typeof part === "object" && part !== null && typeof (part as { text?: unknown }).text === "string") {
        n += ((part as { text: string }).text as string).length;
      }
    }
    return n;
  }
  return 0;
}

function isMessageLike(value: unknown): value is { content: unknown; tool_calls?: unknown } {
  return typeof value === "object" && value !== null && "content" in value;
}

function charsOf(value: unknown, depth: number): { chars: number; messages: number } {
  if (typeof value === "string") return { chars: value.length, messages: 1 };
  if (depth > MAX_DEPTH || typeof value !== "object" || value === null) return { chars: 0, messages: 0 };
  if (Array.isArray(value)) {
    const sum = { chars: 0, messages: 0 };
    for (const item of value) {
      const part = charsOf(item, depth + 1);
      sum.chars += part.chars;
      sum.messages += part.messages;
    }
    return sum;
  }
  if (isMessageLike(value)) {
    const calls = value.tool_calls;
    const callChars = Array.isArray(calls) && calls.length > 0 ? JSON.stringify(calls).length : 0;
    return { chars: textLength(value.content) + callChars, messages: 1 };
  }
  const messages = (value as { messages?: unknown }).messages;
  return messages === undefined ? { chars: 0, messages: 0 } : charsOf(messages, depth + 1);
}

/**
 * The default token estimate of a call's input: the text of its messages (a message list, a list of lists as
 * `generate` takes, a prompt string, or a state with `messages`) at 4 characters per token, plus 4 per message.
 * Anything else estimates 0; the real usage settles the difference after the call.
 */
export function estimatePromptTokens(input: unknown): number {
  const { chars, messages } = charsOf(input, 0);
  return Math.ceil(chars / CHARS_PER_TOKEN) + messages * TOKENS_PER_MESSAGE;
}

function usageOfMessage(value: unknown): number | undefined {
  const usage = (value as { usage_metadata?: { total_tokens?: unknown; input_tokens?: unknown; output_tokens?: unknown } } | null)
    ?.usage_metadata;
  if (typeof usage !== "object" || usage === null) return undefined;
  if (typeof usage.total_tokens === "number") return usage.total_tokens;
  const input = typeof usage.input_tokens === "number" ? usage.input_tokens : 0;
  const output = typeof usage.output_tokens === "number" ? usage.output_tokens : 0;
  return input + output;
}

function usageIn(value: unknown, depth: number): number | undefined {
  if (depth > MAX_DEPTH || typeof value !== "object" || value === null) return undefined;
  const own = usageOfMessage(value);
  if (own !== undefined) return own;
  let items: unknown;
  if (Array.isArray(value)) items = value;
  else if ("generations" in value) items = (value as { generations: unknown }).generations;
  else if ("message" in value) return usageIn((value as { message: unknown }).message, depth + 1);
  else if ("messages" in value) items = (value as { messages: unknown }).messages;
  if (!Array.isArray(items)) return undefined;
  let total: number | undefined;
  for (const item of items) {
    const n = usageIn(item, depth + 1);
    if (n !== undefined) total = (total ?? 0) + n;
  }
  return total;
}

/**
 * The tokens a call really used, read from its result: an `AIMessage`'s `usage_metadata` (`total_tokens`, else input
 * plus output), summed over a message list, a state update's `messages` or an `LLMResult`'s generations; undefined
 * when the result reports none (the estimate then stands).
 */
export function usageTokensOf(result: unknown): number | undefined {
  return usageIn(result, 0);
}

/** How long a provider's 429 says its request and token budgets stay spent (negative: the side is not exhausted). */
export interface ProviderBlock {
  requestsMs: number;
  tokensMs: number;
}

function firstHeader(error: unknown, names: readonly string[]): string | undefined {
  for (const link of causeChain(error)) {
    for (const name of names) {
      const value = headerOf(link, name);
      if (value !== undefined) return value;
    }
  }
  return undefined;
}

function linkWithHeaders(error: unknown): unknown {
  for (const link of causeChain(error)) {
    if (retryAfterFromHeaders(link) !== undefined || headerOf(link, "x-ratelimit-remaining-requests") !== undefined) return link;
    if (headerOf(link, "anthropic-ratelimit-requests-remaining") !== undefined) return link;
  }
  return undefined;
}

/** Default block when a 429 carries no delay at all: one second, the quantum providers enforce per-minute limits in. */
export const DEFAULT_BLOCK_MS = 1000;

/**
 * What a provider's 429 says: which budget is spent (`x-ratelimit-remaining-requests: 0`, `…-tokens: 0`, or the
 * `anthropic-ratelimit-*-remaining` pair) and until when (`x-ratelimit-reset-*`, else `retry-after-ms` /
 * `retry-after`, else one second). When the headers do not say which side is spent, both are blocked.
 */
export function providerBlockOf(error: unknown, now: number = Date.now()): ProviderBlock {
  const link = linkWithHeaders(error) ?? error;
  const retryAfter = retryAfterFromHeaders(link, now) ?? DEFAULT_BLOCK_MS;
  const remaining = (names: string[]): number | undefined => {
    const value = firstHeader(link, names);
    const n = value === undefined ? Number.NaN : Number(value);
    return Number.isFinite(n) ? n : undefined;
  };
  const reset = (names: string[]): number | undefined => {
    const value = firstHeader(link, names);
    return value === undefined ? undefined : parseResetDuration(value, now);
  };
  const requestsLeft = remaining(["x-ratelimit-remaining-requests", "anthropic-ratelimit-requests-remaining"]);
  const tokensLeft = remaining(["x-ratelimit-remaining-tokens", "anthropic-ratelimit-tokens-remaining"]);
  const requestsSpent = requestsLeft !== undefined && requestsLeft <= 0;
  const tokensSpent = tokensLeft !== undefined && tokensLeft <= 0;
  if (!requestsSpent && !tokensSpent) return { requestsMs: retryAfter, tokensMs: retryAfter };
  return {
    requestsMs: requestsSpent ? (reset(["x-ratelimit-reset-requests", "anthropic-ratelimit-requests-reset"]) ?? retryAfter) : -1,
    tokensMs: tokensSpent ? (reset(["x-ratelimit-reset-tokens", "anthropic-ratelimit-tokens-reset"]) ?? retryAfter) : -1,
  };
}
