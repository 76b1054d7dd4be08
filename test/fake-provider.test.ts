import type { AIMessageChunk } from "@langchain/core/messages";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeProvider, startFakeProvider } from "./support/fake-provider.js";
import { anthropicClient, chatAnthropic, chatOpenAI, openaiClient } from "./support/provider-clients.js";

let provider: FakeProvider;
beforeAll(async () => {
  provider = await startFakeProvider();
});
afterAll(() => provider.close());
beforeEach(() => provider.clear());

const tool = {
  name: "lookup",
  description: "Looks a word up",
  schema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
} as const;

describe("fake provider with the real clients", () => {
  it("answers ChatOpenAI in JSON and in a stream with usage", async () => {
    const json = await chatOpenAI(provider).invoke("hi");
    expect(json.content).toBe("ok");
    expect(json.usage_metadata).toMatchObject({ output_tokens: 7 });
    const chunks: string[] = [];
    let usage: unknown;
    for await (const chunk of await chatOpenAI(provider, { streaming: true }).stream("hi")) {
      chunks.push(String(chunk.content));
      if (chunk.usage_metadata) usage = chunk.usage_metadata;
    }
    expect(chunks.join("")).toBe("ok");
    expect(usage).toMatchObject({ output_tokens: 7 });
    expect(provider.count("openai")).toBe(2);
    expect(provider.requests[1]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(provider.requests[0]?.headers.authorization).toMatch(/^Bearer sk-proj-/);
  });

  it("answers ChatAnthropic in JSON and in a stream with usage", async () => {
    const json = await chatAnthropic(provider).invoke("hi");
    expect(json.content).toBe("ok");
    expect(json.usage_metadata).toMatchObject({ output_tokens: 7 });
    let text = "";
    let output = 0;
    for await (const chunk of await chatAnthropic(provider, { streaming: true }).stream("hi")) {
      if (typeof chunk.content === "string") text += chunk.content;
      output += chunk.usage_metadata?.output_tokens ?? 0;
    }
    expect(text).toBe("ok");
    expect(output).toBeGreaterThanOrEqual(7);
    expect(provider.count("anthropic")).toBe(2);
  });

  it("returns tool calls to both LangChain clients, streamed and not", async () => {
    for (const model of [chatOpenAI(provider), chatAnthropic(provider)]) {
      provider.enqueue({ reply: { toolCalls: [{ name: "lookup", args: { q: "otter" } }] } });
      const message = await model.bindTools([tool]).invoke("look up otter");
      expect(message.tool_calls?.[0]).toMatchObject({ name: "lookup", args: { q: "otter" } });
    }
    // ChatOpenAI's invoke() with streaming: true estimates tokens with tiktoken, which downloads its ranks: stream() instead.
    for (const model of [chatOpenAI(provider, { streaming: true }), chatAnthropic(provider, { streaming: true })]) {
      provider.enqueue({ reply: { toolCalls: [{ name: "lookup", args: { q: "otter" } }] } });
      let message: AIMessageChunk | undefined;
      for await (const chunk of await model.bindTools([tool]).stream("look up otter")) message = message ? message.concat(chunk) : chunk;
      expect(message?.tool_calls?.[0]).toMatchObject({ name: "lookup", args: { q: "otter" } });
    }
    expect(provider.requests.map((r) => [r.api, r.stream])).toEqual([
      ["openai", false],
      ["anthropic", false],
      ["openai", true],
      ["anthropic", true],
    ]);
  });

  it("reports cached and reasoning tokens in each provider's own usage shape, and answers with the model it is told", async () => {
    const usage = { input: 1200, output: 300, cacheRead: 1000, cacheWrite: 100, reasoning: 200 };
    provider.enqueue(
      { reply: { text: "hi", usage, model: "gpt-4o-mini-2024-07-18" } },
      { reply: { text: "hi", usage, model: "claude-x-1" } },
    );
    const openai = await openaiClient(provider).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "x" }],
    });
    expect(openai.model).toBe("gpt-4o-mini-2024-07-18");
    expect(openai.usage).toMatchObject({
      prompt_tokens: 1200,
      completion_tokens: 300,
      prompt_tokens_details: { cached_tokens: 1000 },
      completion_tokens_details: { reasoning_tokens: 200 },
    });
    const claude = await anthropicClient(provider).messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: 10,
      messages: [{ role: "user", content: "x" }],
    });
    expect(claude.model).toBe("claude-x-1");
    // Anthropic's input_tokens leave the cache reads and writes out; they come as their own fields.
    expect(claude.usage).toMatchObject({
      input_tokens: 1200,
      output_tokens: 300,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 100,
    });
  });

  it("waits the first-chunk delay before the first content chunk of a stream", async () => {
    provider.enqueue({ reply: { text: "hello", firstChunkDelayMs: 150 } });
    const started = performance.now();
    let first = 0;
    for await (const chunk of await chatOpenAI(provider, { streaming: true }).stream("hi")) {
      if (first === 0 && String(chunk.content) !== "") first = performance.now();
    }
    expect(first - started).toBeGreaterThanOrEqual(145);
  });

  it("answers the bare SDKs and sends the providers' error bodies", async () => {
    const openai = openaiClient(provider);
    const done = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(done.choices[0]?.message.content).toBe("ok");
    provider.enqueue({ fault: "context_overflow" });
    const error = await openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code: "context_length_exceeded" });

    const anthropic = anthropicClient(provider);
    const message = await anthropic.messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(message.content[0]).toMatchObject({ type: "text", text: "ok" });
    provider.enqueue({ fault: "overloaded" });
    const overloaded = await anthropic.messages
      .create({ model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(overloaded).toMatchObject({ status: 529, error: { type: "error", error: { type: "overloaded_error" } } });
    expect(provider.count()).toBe(4);
  });

  it("streams an SSE error event mid-answer and resets and hangs on command", async () => {
    const anthropic = anthropicClient(provider);
    provider.enqueue({ fault: "overloaded_mid_stream" });
    const stream = await anthropic.messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: 10,
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    const midStream = await (async () => {
      for await (const _ of stream) {
        // drain
      }
    })().catch((e: unknown) => e);
    expect(midStream).toMatchObject({ error: { error: { type: "overloaded_error" } } });

    provider.enqueue({ fault: "reset_before_response" });
    const reset = await anthropic.messages
      .create({ model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect((reset as Error).constructor.name).toBe("APIConnectionError");

    provider.enqueue({ fault: "hang" });
    const hung = await openaiClient(provider, { timeout: 200 })
      .chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect((hung as Error).constructor.name).toBe("APIConnectionTimeoutError");
    expect(provider.count()).toBe(3);
    expect(provider.unmatched).toEqual([]);
    await fetch(`${provider.url}/v1/responses`, { method: "POST", body: "{}" });
    expect(provider.unmatched).toEqual(["POST /v1/responses"]);
  });
});
