/**
 * LangSmith tracing switched on by its environment variables, as teams run it next to the kit: LangChain adds its
 * tracer to every run, so LangGraph builds run managers for the graph and its nodes, and the kit takes the node run
 * ids from them. The kit's series and spans must be what they are with tracing off, and LangSmith (its real client,
 * sending to a receiver on 127.0.0.1) must still get the graph, node, LLM and tool runs.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { HumanMessage } from "@langchain/core/messages";
import { MemorySaver } from "@langchain/langgraph";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAgentGraph, ScriptedChatModel } from "../bench/tracing-fixtures.js";
import { instrument } from "../src/observability/instrument.js";
import { createMetrics } from "../src/observability/metrics.js";
import { comparableExposition, spanTrees } from "./support/run-compare.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

/** What the LangSmith client sent: every request body as text (multipart or JSON, gunzipped). */
const received: string[] = [];
let server: Server;
const ENV_KEYS = ["LANGSMITH_TRACING", "LANGSMITH_ENDPOINT", "LANGSMITH_API_KEY", "LANGCHAIN_CALLBACKS_BACKGROUND"] as const;
const savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>> = {};

beforeAll(async () => {
  provider.register();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      if (req.method !== "GET") received.push(body.toString("utf8"));
      res.writeHead(200, { "content-type": "application/json" });
      // `/info` tells the client which ingest endpoints the server has; an empty answer keeps the defaults.
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  for (const key of ENV_KEYS) savedEnv[key] = process.env[key];
  // Before any run: LangChain's runs create LangSmith's default client on first use, reading these once.
  process.env.LANGSMITH_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.LANGSMITH_API_KEY = "lsv2-test-key";
  process.env.LANGCHAIN_CALLBACKS_BACKGROUND = "false";
  delete process.env.LANGSMITH_TRACING;
});

afterAll(async () => {
  for (const key of ENV_KEYS) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await provider.shutdown();
});

async function runAgent(): Promise<[string[], string[]]> {
  exporter.reset();
  const metrics = createMetrics();
  const graph = instrument(buildAgentGraph(new ScriptedChatModel()).compile({ checkpointer: new MemorySaver() }), {
    metrics,
    tracing: true,
    name: "agent",
  });
  await graph.invoke({ messages: [new HumanMessage("weather?")], mode: "ok" }, { configurable: { thread_id: `ls-${received.length}` } });
  await awaitAllCallbacks();
  await provider.forceFlush();
  return [comparableExposition(await metrics.text()), spanTrees(exporter.getFinishedSpans())];
}

/** Waits until the receiver holds every needle (the client sends in batches, on a timer). */
async function receivedAll(needles: readonly string[], timeoutMs = 15_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const all = received.join("\n");
    if (needles.every((n) => all.includes(n))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe("LangSmith tracing on (LANGSMITH_TRACING=true)", () => {
  it("leaves the kit's series and spans as they are with tracing off, and LangSmith gets the graph, node, LLM and tool runs", async () => {
    const off = await runAgent();
    expect(received).toEqual([]);

    process.env.LANGSMITH_TRACING = "true";
    const on = await runAgent();
    delete process.env.LANGSMITH_TRACING;

    expect(on[0]).toEqual(off[0]);
    expect(on[1]).toEqual(off[1]);
    expect(off[1].some((t) => t.startsWith("agent > agent > chat fake-gpt-4o-mini "))).toBe(true);
    expect(off[1].some((t) => t.startsWith("agent > tools > execute_tool search "))).toBe(true);
    // LangSmith's own tree: the graph run, its nodes (the model call under the agent node) and the tool.
    expect(await receivedAll(['"name":"LangGraph"', '"name":"agent"', '"name":"ScriptedChatModel"', '"name":"search"'])).toBe(true);
  }, 30_000);
});
