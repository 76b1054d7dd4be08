/**
 * The agent behind an express API: POST /chat answers with JSON, GET or POST /chat/stream streams the run as
 * server-sent events, /metrics serves Prometheus, /healthz and /readyz answer the orchestrator's probes. Readiness
 * fails while the provider's circuit breaker is open (the pod cannot answer, let the load balancer skip it) and
 * while the server drains for shutdown.
 */
import { randomUUID } from "node:crypto";
import { type BaseMessage, HumanMessage } from "@langchain/core/messages";
import express, { type Express, type Request, type Response } from "express";
import type { Logger } from "pino";
import {
  type CircuitBreaker,
  CircuitOpenError,
  type Metrics,
  RetriesExhaustedError,
  ThreadBusyError,
  TimeoutError,
} from "../../src/index.js";
import type { AgentState } from "../shared/agent.js";
import { InFlightRuns } from "./in-flight.js";

/** The part of the compiled agent graph the API calls. */
export interface AgentGraph {
  invoke(input: { messages: BaseMessage[] }, options: Record<string, unknown>): Promise<AgentState>;
  stream(input: { messages: BaseMessage[] }, options: Record<string, unknown>): Promise<AsyncIterable<unknown>>;
}

/** What {@link createAgentApp} needs. */
export interface AgentAppDeps {
  graph: AgentGraph;
  metrics: Metrics;
  /** Breakers whose open state makes the pod not ready (the LLM provider's). */
  breakers: readonly CircuitBreaker[];
  logger: Logger;
}

/** The express app plus what a graceful shutdown needs. */
export interface AgentApp {
  app: Express;
  /** Runs being served right now. */
  inFlight: InFlightRuns;
  /** From now on `/readyz` answers 503, so the load balancer stops sending traffic. */
  startDraining(): void;
}

const STREAM_MODES = new Set(["messages", "updates"]);
const MAX_MESSAGE_LENGTH = 4000;

interface ChatRequest {
  message: string;
  threadId: string;
}

/** Reads `message` and `thread_id` from a JSON body or the query string; undefined when the message is unusable. */
function chatRequest(source: Record<string, unknown>): ChatRequest | undefined {
  const { message, thread_id: threadId } = source;
  if (typeof message !== "string" || message.trim() === "" || message.length > MAX_MESSAGE_LENGTH) return undefined;
  if (threadId !== undefined && (typeof threadId !== "string" || threadId === "" || threadId.length > 200)) return undefined;
  return { message, threadId: threadId ?? randomUUID() };
}

/** Status and public message for a failed run; the error itself goes to the log only. */
function failure(error: unknown): { status: number; message: string; retryAfterS?: number } {
  // A second message on a thread whose run has not finished (guardThreads, strategy "reject"): the client retries later.
  if (error instanceof ThreadBusyError) return { status: 409, message: "the conversation is busy with another message", retryAfterS: 1 };
  if (error instanceof CircuitOpenError) {
    return { status: 503, message: "the model provider is unavailable", retryAfterS: Math.max(1, Math.ceil(error.retryAfterMs / 1000)) };
  }
  // A timeout is a timeout whether or not retries were made before giving up.
  const last = error instanceof RetriesExhaustedError ? error.cause : error;
  if (last instanceof TimeoutError) return { status: 504, message: "the model provider timed out" };
  if (error instanceof RetriesExhaustedError) return { status: 502, message: "the model provider keeps failing" };
  return { status: 500, message: "the agent failed" };
}

function messageJson(message: BaseMessage): Record<string, unknown> {
  const toolCalls = (message as { tool_calls?: { name: string; args: unknown }[] }).tool_calls;
  return {
    type: message.getType(),
    content: message.content,
    ...(toolCalls !== undefined && toolCalls.length > 0 ? { tool_calls: toolCalls.map((c) => ({ name: c.name, args: c.args })) } : {}),
  };
}

/** One SSE event for a `messages` chunk (`[message, metadata]`) or an `updates` chunk (`{ node: update }`). */
function sseEvents(mode: string, chunk: unknown): { event: string; data: unknown }[] {
  if (mode === "messages") {
    const [message, metadata] = chunk as [BaseMessage, Record<string, unknown>];
    return [{ event: "token", data: { node: metadata.langgraph_node, ...messageJson(message) } }];
  }
  return Object.entries(chunk as Record<string, { messages?: BaseMessage[] } | null>).map(([node, update]) => ({
    event: "update",
    data: { node, messages: (update?.messages ?? []).map(messageJson) },
  }));
}

/** Aborts the run when the client goes away before its response is complete. */
function abortOnDisconnect(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort(new Error("client disconnected"));
  });
  return controller.signal;
}

/** Builds the API around a compiled, instrumented agent graph. */
export function createAgentApp(deps: AgentAppDeps): AgentApp {
  const { graph, metrics, breakers, logger } = deps;
  const inFlight = new InFlightRuns();
  let draining = false;
  const app = express();
  app.disable("x-powered-by");
  app.use(express.json({ limit: "32kb" }));

  // Every chat request is an in-flight run until its response is over, however it ends.
  app.use("/chat", (_req, res, next) => {
    res.on("close", inFlight.start());
    next();
  });

  app.post("/chat", async (req: Request, res: Response) => {
    const chat = chatRequest((req.body ?? {}) as Record<string, unknown>);
    if (chat === undefined) {
      res.status(400).json({ error: `"message" must be a non-empty string of at most ${MAX_MESSAGE_LENGTH} characters` });
      return;
    }
    try {
      const result = await graph.invoke(
        { messages: [new HumanMessage(chat.message)] },
        { configurable: { thread_id: chat.threadId }, signal: abortOnDisconnect(res) },
      );
      res.json({ thread_id: chat.threadId, answer: result.messages.at(-1)?.content ?? "" });
    } catch (error) {
      const { status, message, retryAfterS } = failure(error);
      logger.warn({ err: error, thread_id: chat.threadId }, "chat run failed");
      if (res.headersSent || res.destroyed) return;
      if (retryAfterS !== undefined) res.setHeader("retry-after", String(retryAfterS));
      res.status(status).json({ error: message });
    }
  });

  const stream = async (req: Request, res: Response, source: Record<string, unknown>) => {
    const chat = chatRequest(source);
    const mode = typeof source.mode === "string" ? source.mode : "messages";
    if (chat === undefined || !STREAM_MODES.has(mode)) {
      res.status(400).json({ error: `"message" must be a non-empty string and "mode" one of ${[...STREAM_MODES].join(", ")}` });
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      // Tells nginx-style proxies not to buffer the stream.
      "x-accel-buffering": "no",
    });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    try {
      const chunks = await graph.stream(
        { messages: [new HumanMessage(chat.message)] },
        { configurable: { thread_id: chat.threadId }, streamMode: mode, signal: abortOnDisconnect(res) },
      );
      for await (const chunk of chunks) for (const e of sseEvents(mode, chunk)) send(e.event, e.data);
      send("end", { thread_id: chat.threadId });
    } catch (error) {
      logger.warn({ err: error, thread_id: chat.threadId, path: req.path }, "chat stream failed");
      if (!res.destroyed) send("error", { error: failure(error).message });
    }
    res.end();
  };
  app.get("/chat/stream", (req, res) => stream(req, res, req.query as Record<string, unknown>));
  app.post("/chat/stream", (req, res) => stream(req, res, (req.body ?? {}) as Record<string, unknown>));

  app.get("/metrics", metrics.handler);
  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok\n");
  });
  app.get("/readyz", (_req, res) => {
    const open = breakers.filter((b) => b.state === "open").map((b) => b.name);
    if (draining || open.length > 0) {
      res
        .status(503)
        .type("text/plain")
        .send(draining ? "not ready: shutting down\n" : `not ready: circuit breaker open: ${open.join(", ")}\n`);
      return;
    }
    res.type("text/plain").send("ready\n");
  });

  return {
    app,
    inFlight,
    startDraining() {
      draining = true;
    },
  };
}
