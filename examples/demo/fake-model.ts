/**
 * A chat model that needs no API key: realistic latency, token usage (`usage_metadata`, with prompt-cache reads),
 * tool calls chosen from the conversation, and faults from a FaultInjector. It streams when the caller streams
 * (`streamMode: "messages"`): a first-chunk delay, then the answer in a few chunks. It honours `config.signal`, so
 * the kit's timeouts stop it.
 */
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { BaseChatModel, type BindToolsInput } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, type BaseMessage, ToolMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import type { Runnable } from "@langchain/core/runnables";
import { systemClock } from "../../src/index.js";
import { type FaultInjector, faultError } from "./faults.js";

const { sleep } = systemClock;

const HANG_MS = 60_000;

function text(message: BaseMessage | undefined): string {
  return typeof message?.content === "string" ? message.content : JSON.stringify(message?.content ?? "");
}

/** The fake support model. */
export class SupportChatModel extends BaseChatModel {
  readonly model: string;
  readonly #faults: FaultInjector;
  readonly #random: () => number;

  constructor(faults: FaultInjector, random: () => number = Math.random, model = "support-gpt-mini") {
    super({});
    this.#faults = faults;
    this.#random = random;
    this.model = model;
  }

  _llmType(): string {
    return "demo";
  }

  override getLsParams(options: this["ParsedCallOptions"]) {
    return { ...super.getLsParams(options), ls_provider: "openai", ls_model_name: this.model };
  }

  override invocationParams(): Record<string, unknown> {
    return { model: this.model, temperature: 0.2 };
  }

  override bindTools(_tools: BindToolsInput[]): Runnable {
    return this as unknown as Runnable;
  }

  async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"], _run?: CallbackManagerForLLMRun): Promise<ChatResult> {
    await this.#wait(options.signal);
    const reply = this.#reply(messages);
    return { generations: [{ text: text(reply), message: reply }] };
  }

  /** Streams the same answer: the wait is the time to first chunk, then the text in a few chunks (or the tool call). */
  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    run?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    await this.#wait(options.signal);
    const reply = this.#reply(messages);
    const emit = async (message: AIMessageChunk, token: string) => {
      const chunk = new ChatGenerationChunk({ message, text: token });
      await run?.handleLLMNewToken(token, undefined, undefined, undefined, undefined, { chunk });
      return chunk;
    };
    const call = reply.tool_calls?.[0];
    if (call !== undefined) {
      yield await emit(
        new AIMessageChunk({
          content: "",
          id: reply.id,
          tool_call_chunks: [{ id: call.id, name: call.name, args: JSON.stringify(call.args), index: 0, type: "tool_call_chunk" }],
        }),
        "",
      );
    } else {
      const words = text(reply).split(/(?<= )/);
      for (let i = 0; i < words.length; i += 4) {
        if (i > 0) await sleep(5 + Math.round(this.#random() * 15), options.signal);
        const token = words.slice(i, i + 4).join("");
        yield await emit(new AIMessageChunk({ content: token, id: reply.id }), token);
      }
    }
    yield await emit(
      new AIMessageChunk({ content: "", id: reply.id, usage_metadata: reply.usage_metadata, response_metadata: reply.response_metadata }),
      "",
    );
  }

  /** The model's latency and its faults, before any output. */
  async #wait(signal: AbortSignal | undefined): Promise<void> {
    const fault = this.#faults.next();
    if (fault.kind === "hang") await sleep(HANG_MS, signal);
    await sleep(40 + Math.round(this.#random() * 160), signal);
    if (fault.kind === "rate_limit" || fault.kind === "server_error") throw faultError(fault);
  }

  #reply(messages: BaseMessage[]): AIMessage {
    const last = messages.at(-1);
    const question = text(messages.findLast((m) => m.getType() === "human"));
    let reply: AIMessage;
    if (last instanceof ToolMessage) {
      reply = new AIMessage(`Here is what I found: ${text(last).slice(0, 120)}`);
    } else if (/refund/i.test(question)) {
      reply = new AIMessage("I can help with that refund; let me check the policy.");
    } else if (/order/i.test(question)) {
      const orderId = /\d+/.exec(question)?.[0] ?? "unknown";
      reply = new AIMessage({
        content: "",
        tool_calls: [{ id: `call_${Date.now()}`, name: "lookup_order", args: { orderId }, type: "tool_call" }],
      });
    } else {
      reply = new AIMessage({
        content: "",
        tool_calls: [{ id: `call_${Date.now()}`, name: "search_kb", args: { query: question }, type: "tool_call" }],
      });
    }
    // A 1,024-token system prompt precedes every conversation; after the first call it is read from the prompt cache.
    const input = 1064 + messages.reduce((n, m) => n + Math.ceil(text(m).length / 4), 0);
    const output = 12 + Math.round(this.#random() * 60);
    reply.usage_metadata = {
      input_tokens: input,
      output_tokens: output,
      total_tokens: input + output,
      input_token_details: { cache_read: 1024 },
    };
    reply.response_metadata = { model_name: this.model, finish_reason: reply.tool_calls?.length ? "tool_calls" : "stop" };
    return reply;
  }
}
