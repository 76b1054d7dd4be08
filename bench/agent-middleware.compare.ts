/**
 * The kit's `resilienceMiddleware` next to LangChain's `modelRetryMiddleware` + `toolRetryMiddleware` +
 * `modelFallbackMiddleware` on the same `createAgent` agent (ChatOpenAI primary, ChatAnthropic fallback, both against
 * the fake provider on 127.0.0.1, the client's own `maxRetries` at its default of 6), on the same faults:
 * - every model provider failing with 503: requests made, time until the run gave up, what the conversation holds;
 * - the same, cancelled 50 ms after the first request: time from abort to the run settling, backoff timers still
 *   armed once it settled, requests sent after it;
 * - a tool whose backend always fails with 503: tool attempts, what the conversation holds;
 * - which Prometheus series show the retries (both agents instrumented with the same `instrument()` metrics).
 * Both sides use 2 retries and their own default backoff. Writes bench/results/agent-middleware.md.
 *
 * Run: npx tsx bench/agent-middleware.compare.ts
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { ChatAnthropic } from "@langchain/anthropic";
import { ChatOpenAI } from "@langchain/openai";
import { type AgentMiddleware, createAgent, modelFallbackMiddleware, modelRetryMiddleware, tool, toolRetryMiddleware } from "langchain";
import { z } from "zod";
import { createMetrics, instrument, type Metrics } from "../src/index.js";
import { resilienceMiddleware } from "../src/integrations/langchain.js";
import { type FakeProvider, startFakeProvider } from "../test/support/fake-provider.js";

const RETRIES = 2;
const OUT = resolve(import.meta.dirname, "results", "agent-middleware.md");

interface Side {
  name: string;
  middleware(primaryFallback: ChatAnthropic): AgentMiddleware[];
}

const SIDES: Side[] = [
  {
    name: "langgraph-ops `resilienceMiddleware`",
    middleware: (fallback) => [
      resilienceMiddleware({
        model: { retry: { retries: RETRIES }, fallback: [fallback] },
        tools: { retry: { retries: RETRIES } },
        onFailure: "message",
      }),
    ],
  },
  {
    name: "LangChain `modelRetry` + `toolRetry` + `modelFallback`",
    middleware: (fallback) =>
      [
        modelRetryMiddleware({ maxRetries: RETRIES }),
        toolRetryMiddleware({ maxRetries: RETRIES }),
        modelFallbackMiddleware(fallback),
      ] as AgentMiddleware[],
  },
];

function agentFor(side: Side, provider: FakeProvider, metrics: Metrics, toolAttempts: { n: number }) {
  const primary = new ChatOpenAI({ model: "gpt-4o-mini", apiKey: "sk-test", configuration: { baseURL: provider.openaiBaseURL } });
  const fallback = new ChatAnthropic({ model: "claude-sonnet-4-5", apiKey: "sk-ant-test", anthropicApiUrl: provider.anthropicBaseURL });
  const lookup = tool(
    async () => {
      toolAttempts.n += 1;
      throw Object.assign(new Error("inventory backend 503: upstream connect error, request id req_8f3a"), { status: 503 });
    },
    { name: "lookup", description: "looks up stock", schema: z.object({}) },
  );
  return instrument(createAgent({ model: primary, tools: [lookup], middleware: side.middleware(fallback) }), { metrics, name: "compare" });
}

const ask = { messages: [{ role: "user", content: "is it in stock?" }] };

/** What the conversation holds after the run, in a few words. */
function describeConversation(messages: { getType(): string; content: unknown }[] | undefined, error: unknown): string {
  if (messages === undefined) return `run failed (${(error as Error)?.name ?? "error"})`;
  const last = messages.filter((m) => m.getType() !== "human").at(-1);
  const text = typeof last?.content === "string" ? last.content : JSON.stringify(last?.content);
  const leaks = /503|req_8f3a|upstream|server had an error/i.test(JSON.stringify(messages.map((m) => m.content)));
  return `${last?.getType()} message: "${text.slice(0, 60)}${text.length > 60 ? "…" : ""}"${leaks ? " (error text in the conversation)" : ""}`;
}

function pendingTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

async function seriesTotal(metrics: Metrics, name: string): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  return values.reduce((a, v) => a + v.value, 0);
}

async function main(): Promise<void> {
  const provider = await startFakeProvider();
  const rows: string[][] = [];
  for (const side of SIDES) {
    const metrics = createMetrics();
    const toolAttempts = { n: 0 };
    const agent = agentFor(side, provider, metrics, toolAttempts);

    provider.clear();
    provider.failAlways({ fault: "server_error", status: 503 });
    let started = performance.now();
    let out: { messages: { getType(): string; content: unknown }[] } | undefined;
    let error: unknown;
    try {
      out = (await agent.invoke(ask)) as typeof out;
    } catch (e) {
      error = e;
    }
    const giveUpMs = performance.now() - started;
    const requests = `${provider.count("openai")} + ${provider.count("anthropic")}`;
    const conversation = describeConversation(out?.messages, error);

    provider.clear();
    provider.failAlways({ fault: "server_error", status: 503 });
    const controller = new AbortController();
    const run = agent.invoke(ask, { signal: controller.signal }).catch(() => undefined);
    while (provider.count() === 0) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 50));
    const before = provider.count();
    const timersBefore = pendingTimers();
    started = performance.now();
    controller.abort();
    await run;
    const cancelMs = performance.now() - started;
    // A backoff sleep that ignores the signal stays armed (and keeps the process alive) after the run settled.
    await new Promise((r) => setTimeout(r, 20));
    // `timersBefore` counted the backoff sleep in flight at the abort: it is still armed if the count did not drop.
    const timersLeft = Math.max(0, pendingTimers() - timersBefore + 1);
    // Whatever the middleware still sends after the caller gave up.
    await new Promise((r) => setTimeout(r, 8_000));
    const afterCancel = provider.count() - before;

    provider.clear();
    provider.enqueue({ reply: { toolCalls: [{ name: "lookup", args: {}, id: "call_lookup" }] } });
    toolAttempts.n = 0;
    let toolOut: typeof out;
    let toolError: unknown;
    try {
      toolOut = (await agent.invoke(ask)) as typeof out;
    } catch (e) {
      toolError = e;
    }
    const toolConversation = describeConversation(
      toolOut?.messages.filter((m) => m.getType() === "tool"),
      toolError,
    );

    const retrySeries = await seriesTotal(metrics, "langgraph_node_retries_total");
    const fallbackSeries = await seriesTotal(metrics, "langgraph_node_fallbacks_total");
    const exhausted = await seriesTotal(metrics, "langgraph_node_retries_exhausted_total");
    rows.push([
      side.name,
      requests,
      `${Math.round(giveUpMs)} ms`,
      conversation,
      `${Math.round(cancelMs)} ms`,
      String(timersLeft),
      String(afterCancel),
      String(toolAttempts.n),
      toolConversation,
      `retries ${retrySeries}, exhausted ${exhausted}, fallbacks ${fallbackSeries}`,
    ]);
  }
  await provider.close();

  const header = [
    "middleware",
    "model requests, all providers down (primary + fallback)",
    "time to give up",
    "conversation afterwards",
    "abort → run settled",
    "backoff timers still armed after the run settled",
    "requests sent after abort (8 s)",
    "tool attempts, tool always down",
    "tool result in the conversation",
    "`langgraph_node_retries_total` / `_retries_exhausted_total` / `_fallbacks_total` over the three runs",
  ];
  const table = [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`),
  ].join("\n");
  const text = [
    "# Agent middleware side by side",
    "",
    `\`npx tsx bench/agent-middleware.compare.ts\` — both with ${RETRIES} retries and their default backoff, ChatOpenAI (client`,
    "`maxRetries` 6) with a ChatAnthropic fallback, against the fake provider on 127.0.0.1; faults: every model request",
    "answers 503; a tool whose backend always answers 503. Both agents are instrumented with the same `instrument()` metrics.",
    "",
    table,
    "",
  ].join("\n");
  writeFileSync(OUT, text);
  process.stdout.write(`${text}\n`);
}

await main();
