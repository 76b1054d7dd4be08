/**
 * The real provider clients, each pointed at a fake provider, built the same way for every test.
 */
import Anthropic from "@anthropic-ai/sdk";
import { ChatAnthropic } from "@langchain/anthropic";
import { ChatOpenAI } from "@langchain/openai";
import OpenAI from "openai";
import type { FakeProvider } from "./fake-provider.js";

/** API keys the clients send; the 401 fault echoes them back. */
export const OPENAI_KEY = "sk-proj-CANARYopenaiKEY0123456789abcdef";
export const ANTHROPIC_KEY = "sk-ant-api03-CANARYanthropicKEY0123456789";

/** Options every LangChain chat model takes here. */
export interface ChatModelOptions {
  /** The model asked for (default gpt-4o-mini / claude-sonnet-4-5). */
  model?: string;
  /** LangChain's `AsyncCaller` retries (the client default is 6). */
  maxRetries?: number;
  streaming?: boolean;
  /** Client-side request timeout in ms. */
  timeout?: number;
}

/** `ChatOpenAI` against the fake provider. */
export function chatOpenAI(provider: FakeProvider, options: ChatModelOptions = {}): ChatOpenAI {
  return new ChatOpenAI({
    model: options.model ?? "gpt-4o-mini",
    apiKey: OPENAI_KEY,
    configuration: { baseURL: provider.openaiBaseURL },
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    ...(options.streaming === undefined ? {} : { streaming: options.streaming, streamUsage: true }),
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
  });
}

/** `ChatAnthropic` against the fake provider. */
export function chatAnthropic(provider: FakeProvider, options: ChatModelOptions = {}): ChatAnthropic {
  return new ChatAnthropic({
    model: options.model ?? "claude-sonnet-4-5",
    apiKey: ANTHROPIC_KEY,
    anthropicApiUrl: provider.anthropicBaseURL,
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    ...(options.streaming === undefined ? {} : { streaming: options.streaming }),
    ...(options.timeout === undefined ? {} : { clientOptions: { timeout: options.timeout } }),
  });
}

/** The `openai` SDK client against the fake provider. */
export function openaiClient(provider: FakeProvider, options: { maxRetries?: number; timeout?: number } = {}): OpenAI {
  return new OpenAI({
    apiKey: OPENAI_KEY,
    baseURL: provider.openaiBaseURL,
    maxRetries: options.maxRetries ?? 0,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
  });
}

/** The `@anthropic-ai/sdk` client against the fake provider. */
export function anthropicClient(provider: FakeProvider, options: { maxRetries?: number; timeout?: number } = {}): Anthropic {
  return new Anthropic({
    apiKey: ANTHROPIC_KEY,
    baseURL: provider.anthropicBaseURL,
    maxRetries: options.maxRetries ?? 0,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
  });
}
