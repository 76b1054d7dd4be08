/**
 * A chat model that needs no API key, so every example runs offline. It behaves like a tool-calling provider: asked
 * about the weather "in <city>", it calls `get_weather`; given the tool's answer, it replies in words. Every reply
 * carries `usage_metadata` (what real providers report), it streams word by word, honours `config.signal`, and
 * `fail` lets an example play a provider outage.
 */
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { BaseChatModel, type BaseChatModelParams, type BindToolsInput } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, type BaseMessage, ToolMessage } from "@langchain/core/messages";
import { type ChatResult, ChatGenerationChunk } from "@langchain/core/outputs";
import type { Runnable } from "@langchain/core/runnables";
import { systemClock } from "../../src/index.js";

/** Options of {@link FakeChatModel}. */
export interface FakeChatModelOptions extends BaseChatModelParams {
  /** Model name reported in spans and metrics. Default "fake-gpt". */
  model?: string;
  /** Simulated provider latency per call. Default 0. */
  latencyMs?: number;
  /** Called before each call; a returned error is thrown as the provider's failure (e.g. a 503). */
  fail?: () => Error | undefined;
}

function textOf(message: BaseMessage | undefined): string {
  if (message === undefined) return "";
  return typeof message.content === "string" ? message.content : JSON.stringify(message.content);
}

/** Builds the reply a tool-calling model would give to this conversation. */
function reply(messages: BaseMessage[], model: string): AIMessage {
  const last = messages.at(-1);
  let message: AIMessage;
  if (last instanceof ToolMessage) {
    message = new AIMessage(`Here is the forecast: ${textOf(last)}`);
  } else {
    const city = /\bin ([A-Z][\w-]*(?: [A-Z][\w-]*)*)/.exec(textOf(last))?.[1];
    message =
      city === undefined
        ? new AIMessage("I can tell you the weather: ask me about a city.")
        : new AIMessage({
            content: "",
            tool_calls: [{ id: `call_${messages.length}`, name: "get_weather", args: { city }, type: "tool_call" }],
          });
  }
  const input = 20 + messages.reduce((n, m) => n + Math.ceil(textOf(m).length / 4), 0);
  const output = 5 + Math.ceil(textOf(message).length / 4);
  message.usage_metadata = { input_tokens: input, output_tokens: output, total_tokens: input + output };
  message.response_metadata = { model_name: model, finish_reason: message.tool_calls?.length ? "tool_calls" : "stop" };
  return message;
}

/** The offline stand-in for a provider's chat model. */
export class FakeChatModel extends BaseChatModel {
  readonly model: string;
  readonly #latencyMs: number;
  readonly #fail: (() => Error | undefined) | undefined;

  constructor(options: FakeChatModelOptions = {}) {
    const { model, latencyMs, fail, ...rest } = options;
    super(rest);
    this.model = model ?? "fake-gpt";
    this.#latencyMs = latencyMs ?? 0;
    this.#fail = fail;
  }

  _llmType(): string {
    return "fake";
  }

  // What a provider integration reports, so spans and metrics get a provider and model name.
  override getLsParams(options: this["ParsedCallOptions"]) {
    return { ...super.getLsParams(options), ls_provider: "openai", ls_model_name: this.model };
  }

  override invocationParams(): Record<string, unknown> {
    return { model: this.model };
  }

  // Tool choice is scripted in `reply`, so binding tools returns the model itself.
  override bindTools(_tools: BindToolsInput[]): Runnable {
    return this as unknown as Runnable;
  }

  async #call(messages: BaseMessage[], signal: AbortSignal | undefined): Promise<AIMessage> {
    await systemClock.sleep(this.#latencyMs, signal);
    const error = this.#fail?.();
    if (error !== undefined) throw error;
    return reply(messages, this.model);
  }

  async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"]): Promise<ChatResult> {
    const message = await this.#call(messages, options.signal);
    return { generations: [{ text: textOf(message), message }] };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const message = await this.#call(messages, options.signal);
    const words = textOf(message).split(/(?<= )/);
    for (const [i, word] of words.entries()) {
      const lastChunk = i === words.length - 1;
      const chunk = new AIMessageChunk({
        content: word,
        ...(lastChunk
          ? {
              tool_call_chunks: (message.tool_calls ?? []).map((c, index) => ({
                id: c.id,
                name: c.name,
                args: JSON.stringify(c.args),
                index,
                type: "tool_call_chunk" as const,
              })),
              usage_metadata: message.usage_metadata,
              response_metadata: message.response_metadata,
            }
          : {}),
      });
      const generation = new ChatGenerationChunk({ text: word, message: chunk });
      yield generation;
      // Stream consumers (LangGraph's "messages" mode) read the chunk itself, tool calls included.
      await runManager?.handleLLMNewToken(word, undefined, undefined, undefined, undefined, { chunk: generation });
    }
  }
}
