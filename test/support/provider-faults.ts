/**
 * The faults the provider-client suites inject, one call through each real client, and what `classifyError` must say
 * about each (fault, client) pair.
 */
import type { ErrorReason } from "../../src/index.js";
import type { FakeProvider, Step } from "./fake-provider.js";
import { anthropicClient, chatAnthropic, chatOpenAI, openaiClient } from "./provider-clients.js";

/** The four real clients. */
export const CLIENTS = ["ChatOpenAI", "ChatAnthropic", "openai", "anthropic"] as const;
export type ClientName = (typeof CLIENTS)[number];

/** Which provider API a client speaks. */
export const API_OF: Record<ClientName, "openai" | "anthropic"> = {
  ChatOpenAI: "openai",
  ChatAnthropic: "anthropic",
  openai: "openai",
  anthropic: "anthropic",
};

/** How one model call is made. */
export interface CallOptions {
  stream?: boolean;
  signal?: AbortSignal;
  /** The client's own retries (LangChain's `AsyncCaller` for the chat models, the SDK's for the bare clients). */
  maxRetries?: number;
  /** The client's request timeout in ms. */
  timeout?: number;
}

const MESSAGES = [{ role: "user" as const, content: "hi" }];

/** One model call through `client`, drained to the end when streamed. Resolves to the answer's text. */
export async function callClient(client: ClientName, provider: FakeProvider, options: CallOptions = {}): Promise<string> {
  const { stream = false, signal, maxRetries = 0, timeout } = options;
  const callOptions = signal === undefined ? {} : { signal };
  const clientOptions = { maxRetries, ...(timeout === undefined ? {} : { timeout }) };
  if (client === "ChatOpenAI" || client === "ChatAnthropic") {
    const model =
      client === "ChatOpenAI"
        ? chatOpenAI(provider, { ...clientOptions, streaming: stream })
        : chatAnthropic(provider, { ...clientOptions, streaming: stream });
    if (!stream) return String((await model.invoke("hi", callOptions)).content);
    let text = "";
    for await (const chunk of await model.stream("hi", callOptions)) text += typeof chunk.content === "string" ? chunk.content : "";
    return text;
  }
  if (client === "openai") {
    const sdk = openaiClient(provider, clientOptions);
    if (!stream)
      return (
        (await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: MESSAGES }, callOptions)).choices[0]?.message.content ?? ""
      );
    let text = "";
    const events = await sdk.chat.completions.create(
      { model: "gpt-4o-mini", messages: MESSAGES, stream: true, stream_options: { include_usage: true } },
      callOptions,
    );
    for await (const chunk of events) text += chunk.choices[0]?.delta.content ?? "";
    return text;
  }
  const sdk = anthropicClient(provider, clientOptions);
  if (!stream) {
    const message = await sdk.messages.create({ model: "claude-sonnet-4-5", max_tokens: 64, messages: MESSAGES }, callOptions);
    return message.content.map((b) => (b.type === "text" ? b.text : "")).join("");
  }
  let text = "";
  const events = await sdk.messages.create({ model: "claude-sonnet-4-5", max_tokens: 64, messages: MESSAGES, stream: true }, callOptions);
  for await (const event of events) if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
  return text;
}

/** What `classifyError` must return for the error a client throws. */
export interface Expected {
  reason: ErrorReason;
  retryable: boolean;
  countsAsFailure: boolean;
  retryAfterMs?: number;
}

const transient = (reason: ErrorReason, retryAfterMs?: number): Expected =>
  retryAfterMs === undefined
    ? { reason, retryable: true, countsAsFailure: true }
    : { reason, retryable: true, countsAsFailure: true, retryAfterMs };
const final = (reason: ErrorReason): Expected => ({ reason, retryable: false, countsAsFailure: false });
const same = (e: Expected): Record<ClientName, Expected> => ({ ChatOpenAI: e, ChatAnthropic: e, openai: e, anthropic: e });
const perApi = (openai: Expected, anthropic: Expected): Record<ClientName, Expected> => ({
  ChatOpenAI: openai,
  ChatAnthropic: anthropic,
  openai,
  anthropic,
});

/** A fault as the suites inject it. */
export interface FaultCase {
  /** Row label in the tables. */
  name: string;
  step: Step;
  /** The fault only shows in a streamed answer. */
  stream?: boolean;
  /** The fault needs a client-side (or kit) deadline to end. */
  hangs?: boolean;
  expected: Record<ClientName, Expected>;
}

/** Every fault, with the classification each client's error must get. */
export const FAULTS: FaultCase[] = [
  {
    name: "429 retry-after + retry-after-ms",
    step: { fault: "rate_limited", retryAfter: "2", retryAfterMs: "1500" },
    expected: same(transient("rate_limited", 1500)),
  },
  { name: "429 retry-after", step: { fault: "rate_limited", retryAfter: "2" }, expected: same(transient("rate_limited", 2000)) },
  {
    name: "429 x-ratelimit-reset-*",
    step: { fault: "rate_limited", resetRequests: "1s", resetTokens: "6m0s" },
    expected: perApi(transient("rate_limited", 360_000), transient("rate_limited")),
  },
  { name: "429 insufficient_quota", step: { fault: "insufficient_quota" }, expected: same(final("quota_exceeded")) },
  { name: "500", step: { fault: "server_error", status: 500 }, expected: same(transient("server_error")) },
  { name: "502", step: { fault: "server_error", status: 502 }, expected: same(transient("server_error")) },
  { name: "503", step: { fault: "server_error", status: 503 }, expected: same(transient("server_error")) },
  {
    name: "overloaded (Anthropic 529)",
    step: { fault: "overloaded" },
    expected: perApi(transient("server_error"), transient("overloaded")),
  },
  {
    name: "overloaded mid-stream",
    step: { fault: "overloaded_mid_stream" },
    stream: true,
    expected: perApi(transient("server_error"), transient("overloaded")),
  },
  { name: "400 context overflow", step: { fault: "context_overflow" }, expected: same(final("context_overflow")) },
  { name: "400 bad request", step: { fault: "bad_request" }, expected: same(final("client_error")) },
  { name: "401 echoing the key", step: { fault: "auth" }, expected: same(final("auth")) },
  { name: "reset before the response", step: { fault: "reset_before_response" }, expected: same(transient("network")) },
  { name: "reset during the stream", step: { fault: "reset_during_response" }, stream: true, expected: same(transient("network")) },
  { name: "hang", step: { fault: "hang" }, hangs: true, expected: same(transient("timeout")) },
];
