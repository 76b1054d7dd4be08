/**
 * The real chat model clients (`@langchain/openai`, `@langchain/anthropic`) pointed at the fake provider, with the
 * client's own retries left at a value well above the kit's (the tests show the kit's retry replaces them).
 */
import { ChatAnthropic } from "@langchain/anthropic";
import { ChatOpenAI } from "@langchain/openai";
import type { FakeProvider, ProviderApi } from "./fake-provider.js";

/** The client's own `maxRetries` in these tests: what LangChain's AsyncCaller would do without the kit. */
export const CLIENT_MAX_RETRIES = 6;

/** A chat model of `api` against `provider`. */
export function chatModel(api: ProviderApi, provider: FakeProvider, maxRetries = CLIENT_MAX_RETRIES): ChatOpenAI | ChatAnthropic {
  return api === "openai"
    ? new ChatOpenAI({ model: "gpt-4o-mini", apiKey: "sk-test-openai", maxRetries, configuration: { baseURL: provider.openaiBaseURL } })
    : new ChatAnthropic({ model: "claude-sonnet-4-5", apiKey: "sk-ant-test", maxRetries, anthropicApiUrl: provider.anthropicBaseURL });
}

/** Fast backoff for tests: the schedule is the kit's, only shorter. */
export const FAST_RETRY = { minDelayMs: 1, maxDelayMs: 5 } as const;

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `predicate()` holds (polling), or rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(5);
  }
}
