import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { BaseChatModel, type BaseChatModelParams, type BindToolsInput } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import type { Runnable } from "@langchain/core/runnables";
import type { Metrics } from "../src/observability/metrics.js";

/** One scripted model turn: text, or tool calls to make. */
export interface Turn {
  content?: string;
  toolCalls?: Array<{ name: string; args: Record<string, unknown> }>;
  fail?: Error;
}

/** A chat model that replays `turns` (round-robin) with usage_metadata, provider "fakeai" and a model name. */
export class ScriptedChatModel extends BaseChatModel {
  calls = 0;
  constructor(
    private readonly turns: Turn[],
    readonly model = "fake-model-1",
    readonly usage = { input: 11, output: 7 },
    fields: BaseChatModelParams = {},
  ) {
    super(fields);
  }
  _llmType(): string {
    return "scripted";
  }
  override getLsParams(options: this["ParsedCallOptions"]) {
    return { ...super.getLsParams(options), ls_provider: "fakeai", ls_model_name: this.model };
  }
  override invocationParams(): Record<string, unknown> {
    return { model: this.model };
  }
  override bindTools(_tools: BindToolsInput[]): Runnable {
    return this as unknown as Runnable;
  }
  async _generate(_messages: BaseMessage[], _options: this["ParsedCallOptions"], _run?: CallbackManagerForLLMRun): Promise<ChatResult> {
    const turn = this.turns[this.calls % this.turns.length] as Turn;
    this.calls += 1;
    if (turn.fail !== undefined) throw turn.fail;
    const message = new AIMessage({
      content: turn.content ?? "",
      tool_calls: (turn.toolCalls ?? []).map((c, i) => ({ ...c, id: `call_${this.calls}_${i}`, type: "tool_call" as const })),
      usage_metadata: {
        input_tokens: this.usage.input,
        output_tokens: this.usage.output,
        total_tokens: this.usage.input + this.usage.output,
      },
    });
    return { generations: [{ text: turn.content ?? "", message }] };
  }
}

/** Sum of all samples of `name` whose labels include `labels` (a partial match). */
export async function sum(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const base = name.replace(/_(count|sum)$/, "");
  const metric = metrics.registry.getSingleMetric(base) ?? metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const data = await metric.get();
  let total = 0;
  for (const v of data.values as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>) {
    if (String(data.type) === "histogram" && (v.metricName ?? "") !== name) continue;
    if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) total += v.value;
  }
  return total;
}
