/**
 * A chat model that needs no API key: realistic latency, token usage (`usage_metadata`), tool calls chosen from the
 * conversation, and faults from a FaultInjector. It honours `config.signal`, so the kit's timeouts stop it.
 */
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { BaseChatModel, type BindToolsInput } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage, ToolMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
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
  readonly model = "support-gpt-mini";
  readonly #faults: FaultInjector;
  readonly #random: () => number;

  constructor(faults: FaultInjector, random: () => number = Math.random) {
    super({});
    this.#faults = faults;
    this.#random = random;
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
    const fault = this.#faults.next();
    const signal = options.signal;
    if (fault.kind === "hang") await sleep(HANG_MS, signal);
    await sleep(40 + Math.round(this.#random() * 160), signal);
    if (fault.kind === "rate_limit" || fault.kind === "server_error") throw faultError(fault);

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
    const input = 40 + messages.reduce((n, m) => n + Math.ceil(text(m).length / 4), 0);
    const output = 12 + Math.round(this.#random() * 60);
    reply.usage_metadata = { input_tokens: input, output_tokens: output, total_tokens: input + output };
    reply.response_metadata = { model_name: this.model, finish_reason: reply.tool_calls?.length ? "tool_calls" : "stop" };
    return { generations: [{ text: text(reply), message: reply }] };
  }
}
