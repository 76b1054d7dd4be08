/**
 * A fake LLM provider on 127.0.0.1 that speaks the OpenAI Chat Completions API (`POST /v1/chat/completions`) and the
 * Anthropic Messages API (`POST /v1/messages`) closely enough for the real `openai`, `@anthropic-ai/sdk`,
 * `@langchain/openai` and `@langchain/anthropic` clients: JSON and SSE streaming answers with token usage and tool
 * calls, and on command the providers' own error bodies and headers, socket resets and hangs.
 *
 * ```ts
 * const provider = await startFakeProvider();
 * const model = new ChatOpenAI({ model: "gpt-4o-mini", apiKey: "sk-test", configuration: { baseURL: provider.openaiBaseURL } });
 * const claude = new ChatAnthropic({ model: "claude-sonnet-4-5", apiKey: "sk-ant-test", anthropicApiUrl: provider.anthropicBaseURL });
 * provider.enqueue({ fault: "server_error", status: 503 });   // the next request fails once
 * provider.failAlways({ fault: "context_overflow" });          // every request fails until clear()
 * provider.enqueue({ reply: { toolCalls: [{ name: "lookup", args: { q: "x" } }] } });  // next answer calls a tool
 * provider.count("openai");                                    // requests the server received for that API
 * provider.requests[0].body, provider.requests[0].headers      // what the client sent
 * await provider.close();
 * ```
 *
 * Error shapes follow the providers' documented bodies: OpenAI `{ error: { message, type, param, code } }` with
 * `x-request-id` and `x-ratelimit-*` headers; Anthropic `{ type: "error", error: { type, message }, request_id }`
 * with `request-id`, `retry-after` and `anthropic-ratelimit-*` headers, and a mid-stream `event: error`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** Which provider API a request used. */
export type ProviderApi = "openai" | "anthropic";

/** Rate-limit headers of a 429 (each optional; absent ones are not sent). */
export interface RateLimitHeaders {
  /** `retry-after` (seconds or an HTTP date). */
  retryAfter?: string;
  /** `retry-after-ms` (OpenAI). */
  retryAfterMs?: string;
  /** `x-ratelimit-reset-requests` (OpenAI duration such as `1s`, `6m0s`). */
  resetRequests?: string;
  /** `x-ratelimit-reset-tokens` (OpenAI duration). */
  resetTokens?: string;
  /** Limits and what is left of them, sent as `x-ratelimit-{limit,remaining}-{requests,tokens}` (OpenAI) or
   * `anthropic-ratelimit-{requests,tokens}-{limit,remaining}`; defaults: the providers' small-tier limits, 0 left. */
  limitRequests?: number;
  remainingRequests?: number;
  limitTokens?: number;
  remainingTokens?: number;
}

/** What `admit` sees of a request before it is answered. */
export interface AdmitRequest {
  api: ProviderApi;
  model: string;
  /** The API key the client sent (`authorization: Bearer …` or `x-api-key`). */
  apiKey: string;
  /** The server's estimate of the prompt's tokens (the usage it reports as input). */
  inputTokens: number;
  /** `max_tokens` / `max_completion_tokens` of the request, when set. */
  maxTokens: number | undefined;
  stream: boolean;
}

/** Options of {@link startFakeProvider}. */
export interface FakeProviderOptions {
  /**
   * Consulted for every request before the scripted steps: a fault it returns answers the request (a provider's
   * own rate limiting, say); `undefined` lets the request through to the queue and the default reply.
   */
  admit?: (request: AdmitRequest) => Fault | undefined;
}

/** A failure the server produces instead of an answer. */
export type Fault =
  | ({ fault: "rate_limited" } & RateLimitHeaders)
  | { fault: "insufficient_quota" }
  | { fault: "server_error"; status: 500 | 502 | 503 }
  /** Anthropic's HTTP 529 `overloaded_error` (OpenAI answers a 503 with its "overloaded" message). */
  | { fault: "overloaded" }
  /** A streamed answer that starts and then sends the provider's SSE error event (Anthropic `overloaded_error`). */
  | { fault: "overloaded_mid_stream" }
  /** OpenAI 400 `context_length_exceeded`; Anthropic 400 "prompt is too long: N tokens > M maximum". */
  | { fault: "context_overflow" }
  /** A 400 that is not a context overflow (an invalid parameter). */
  | { fault: "bad_request" }
  /** 401 whose message echoes the API key the client sent, as OpenAI's "Incorrect API key provided" does. */
  | { fault: "auth" }
  /** The socket is destroyed after the request is read, before any response byte. */
  | { fault: "reset_before_response" }
  /** Headers and part of the body (or of the stream) are sent, then the socket is destroyed. */
  | { fault: "reset_during_response" }
  /** The request is read and never answered (until the client gives up or `close()`). */
  | { fault: "hang" };

/**
 * Token usage of an answer, in each provider's own terms: `input` is OpenAI's `prompt_tokens` (cached tokens
 * included) or Anthropic's `input_tokens` (cache reads and writes excluded); `output` is `completion_tokens` /
 * `output_tokens` (reasoning included).
 */
export interface ReplyUsage {
  input: number;
  output: number;
  /** OpenAI `prompt_tokens_details.cached_tokens`; Anthropic `cache_read_input_tokens`. */
  cacheRead?: number;
  /** Anthropic `cache_creation_input_tokens` (OpenAI reports none). */
  cacheWrite?: number;
  /** OpenAI `completion_tokens_details.reasoning_tokens` (Anthropic reports none). */
  reasoning?: number;
}

/** A successful answer: text, tool calls, or both. */
export interface Reply {
  text?: string;
  toolCalls?: { name: string; args: Record<string, unknown>; id?: string }[];
  usage?: ReplyUsage;
  /** The model the answer names (a dated name, say); default: the model the request asked for. */
  model?: string;
  /** Streams: ms between the stream's opening events and the first content chunk (time to first chunk). */
  firstChunkDelayMs?: number;
  /** Streams: ms before each later content chunk. */
  chunkDelayMs?: number;
}

/** One scripted step: a fault or a reply. */
export type Step = Fault | { reply: Reply };

/** What the server received. */
export interface RecordedRequest {
  api: ProviderApi;
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (or the raw text when it is not JSON). */
  body: unknown;
  /** Whether the client asked for a stream. */
  stream: boolean;
  /** The step that answered it (`undefined` = the default reply). */
  step?: Step;
}

/** A running fake provider. */
export interface FakeProvider {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** baseURL for `openai` / `ChatOpenAI({ configuration: { baseURL } })`: `${url}/v1`. */
  openaiBaseURL: string;
  /** baseURL for `@anthropic-ai/sdk` / `ChatAnthropic({ anthropicApiUrl })`: `${url}` (the SDK appends `/v1/messages`). */
  anthropicBaseURL: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Requests received, for one API (`"openai"` = `POST /v1/chat/completions`, `"anthropic"` = `POST /v1/messages`) or all. */
  count(api?: ProviderApi): number;
  /** `METHOD path` of requests to any other route (answered 404, not in `requests`): a client calling an API this server does not speak. */
  unmatched: string[];
  /** Appends steps answered one per request, in order, before the default. */
  enqueue(...steps: Step[]): void;
  /** Answers every request (after the queue) with `step` until `clear()`. */
  failAlways(step: Step): void;
  /** The answer when no step is queued and nothing fails always (default: text "ok"). */
  setDefaultReply(reply: Reply): void;
  /** Empties the queue, the persistent step, the recorded requests and `unmatched`. */
  clear(): void;
  /** Destroys open sockets (hanging requests included) and stops the server. */
  close(): Promise<void>;
}

const OPENAI_PATH = "/v1/chat/completions";
const ANTHROPIC_PATH = "/v1/messages";
const DEFAULT_USAGE = { input: 11, output: 7 };

/** Answer and request ids are unique per request, as the providers' are: LangGraph's message reducer merges messages by id. */
let answerSequence = 0;

type Headers = Record<string, string>;

function estimateTokens(body: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(body ?? "").length / 4));
}

function apiKeyOf(req: IncomingMessage): string {
  const header = req.headers["x-api-key"] ?? req.headers.authorization ?? "";
  const value = Array.isArray(header) ? (header[0] ?? "") : header;
  return value.replace(/^Bearer\s+/i, "");
}

function openaiError(status: number, message: string, type: string, code: string | null, param: string | null = null) {
  return { status, body: { error: { message, type, param, code } } };
}

function anthropicError(status: number, type: string, message: string, requestId: string) {
  return { status, body: { type: "error", error: { type, message }, request_id: requestId } };
}

function rateLimitHeaders(api: ProviderApi, fault: RateLimitHeaders): Headers {
  const headers: Headers = {};
  if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
  if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = fault.retryAfterMs;
  const n = (value: number | undefined, fallback: number): string => String(value ?? fallback);
  if (api === "openai") {
    headers["x-ratelimit-limit-requests"] = n(fault.limitRequests, 500);
    headers["x-ratelimit-remaining-requests"] = n(fault.remainingRequests, 0);
    headers["x-ratelimit-limit-tokens"] = n(fault.limitTokens, 30000);
    headers["x-ratelimit-remaining-tokens"] = n(fault.remainingTokens, 0);
    if (fault.resetRequests !== undefined) headers["x-ratelimit-reset-requests"] = fault.resetRequests;
    if (fault.resetTokens !== undefined) headers["x-ratelimit-reset-tokens"] = fault.resetTokens;
  } else {
    headers["anthropic-ratelimit-requests-limit"] = n(fault.limitRequests, 50);
    headers["anthropic-ratelimit-requests-remaining"] = n(fault.remainingRequests, 0);
    headers["anthropic-ratelimit-requests-reset"] = new Date(Date.now() + 1000).toISOString();
    if (fault.limitTokens !== undefined) headers["anthropic-ratelimit-tokens-limit"] = n(fault.limitTokens, 0);
    if (fault.remainingTokens !== undefined) headers["anthropic-ratelimit-tokens-remaining"] = n(fault.remainingTokens, 0);
  }
  return headers;
}

/** The status, body and headers of an HTTP error fault, per API. */
function errorResponse(
  api: ProviderApi,
  fault: Fault,
  key: string,
  requestId: string,
): { status: number; body: unknown; headers: Headers } | undefined {
  const o = api === "openai";
  switch (fault.fault) {
    case "rate_limited": {
      const e = o
        ? openaiError(
            429,
            "Rate limit reached for gpt-4o-mini in organization org-test on requests per min (RPM): Limit 500, Used 500, Requested 1.",
            "requests",
            "rate_limit_exceeded",
          )
        : anthropicError(
            429,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute.",
            requestId,
          );
      return { ...e, headers: rateLimitHeaders(api, fault) };
    }
    case "insufficient_quota": {
      const e = o
        ? openaiError(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
          )
        : anthropicError(
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
            requestId,
          );
      return { ...e, headers: {} };
    }
    case "server_error": {
      const e = o
        ? openaiError(fault.status, "The server had an error while processing your request. Sorry about that!", "server_error", null)
        : anthropicError(fault.status, "api_error", "Internal server error", requestId);
      return { ...e, headers: {} };
    }
    case "overloaded": {
      const e = o
        ? openaiError(503, "The engine is currently overloaded, please try again later.", "server_error", null)
        : anthropicError(529, "overloaded_error", "Overloaded", requestId);
      return { ...e, headers: {} };
    }
    case "context_overflow": {
      const e = o
        ? openaiError(
            400,
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            "context_length_exceeded",
            "messages",
          )
        : anthropicError(400, "invalid_request_error", "prompt is too long: 215734 tokens > 200000 maximum", requestId);
      return { ...e, headers: {} };
    }
    case "bad_request": {
      const e = o
        ? openaiError(
            400,
            "Invalid value for 'temperature': must be between 0 and 2.",
            "invalid_request_error",
            "invalid_value",
            "temperature",
          )
        : anthropicError(400, "invalid_request_error", "temperature: range: 0..1", requestId);
      return { ...e, headers: {} };
    }
    case "auth": {
      const e = o
        ? openaiError(
            401,
            `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`,
            "invalid_request_error",
            "invalid_api_key",
          )
        : anthropicError(401, "authentication_error", `invalid x-api-key: ${key}`, requestId);
      return { ...e, headers: {} };
    }
    default:
      return undefined;
  }
}

function sse(res: ServerResponse, event: string | undefined, data: unknown): void {
  res.write(`${event === undefined ? "" : `event: ${event}\n`}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
}

function toolCallId(api: ProviderApi, i: number, call: { id?: string }): string {
  return call.id ?? (api === "openai" ? `call_${i + 1}` : `toolu_${i + 1}`);
}

const sleep = (ms: number | undefined): Promise<void> | undefined =>
  ms === undefined || ms <= 0 ? undefined : new Promise((resolve) => setTimeout(resolve, ms));

function openaiUsage(usage: ReplyUsage) {
  return {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output,
    ...(usage.cacheRead === undefined ? {} : { prompt_tokens_details: { cached_tokens: usage.cacheRead, audio_tokens: 0 } }),
    ...(usage.reasoning === undefined
      ? {}
      : {
          completion_tokens_details: {
            reasoning_tokens: usage.reasoning,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
          },
        }),
  };
}

function anthropicCacheUsage(usage: ReplyUsage) {
  return {
    ...(usage.cacheWrite === undefined ? {} : { cache_creation_input_tokens: usage.cacheWrite }),
    ...(usage.cacheRead === undefined ? {} : { cache_read_input_tokens: usage.cacheRead }),
  };
}

function openaiJson(model: string, reply: Reply, inputTokens: number) {
  const usage = reply.usage ?? { ...DEFAULT_USAGE, input: inputTokens };
  const toolCalls = (reply.toolCalls ?? []).map((c, i) => ({
    id: toolCallId("openai", i, c),
    type: "function",
    function: { name: c.name, arguments: JSON.stringify(c.args) },
  }));
  return {
    id: `chatcmpl-fake-${answerSequence}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: reply.text ?? (toolCalls.length > 0 ? null : "ok"),
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: toolCalls.length > 0 ? "tool_calls" : "stop",
      },
    ],
    usage: openaiUsage(usage),
    system_fingerprint: "fp_fake",
  };
}

async function openaiStream(
  res: ServerResponse,
  model: string,
  reply: Reply,
  inputTokens: number,
  includeUsage: boolean,
  cut: boolean,
): Promise<void> {
  const usage = reply.usage ?? { ...DEFAULT_USAGE, input: inputTokens };
  const base = { id: `chatcmpl-fake-${answerSequence}`, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model };
  const chunk = (delta: unknown, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  sse(res, undefined, chunk({ role: "assistant", content: "", refusal: null }));
  await sleep(reply.firstChunkDelayMs);
  const text = reply.text ?? (reply.toolCalls?.length ? undefined : "ok");
  if (text !== undefined) {
    const half = Math.ceil(text.length / 2);
    sse(res, undefined, chunk({ content: text.slice(0, half) }));
    if (cut) {
      res.socket?.destroy();
      return;
    }
    if (text.length > half) {
      await sleep(reply.chunkDelayMs);
      sse(res, undefined, chunk({ content: text.slice(half) }));
    }
  }
  for (const [i, c] of (reply.toolCalls ?? []).entries()) {
    if (i > 0 || text !== undefined) await sleep(reply.chunkDelayMs);
    sse(
      res,
      undefined,
      chunk({ tool_calls: [{ index: i, id: toolCallId("openai", i, c), type: "function", function: { name: c.name, arguments: "" } }] }),
    );
    await sleep(reply.chunkDelayMs);
    sse(res, undefined, chunk({ tool_calls: [{ index: i, function: { arguments: JSON.stringify(c.args) } }] }));
  }
  sse(res, undefined, chunk({}, reply.toolCalls?.length ? "tool_calls" : "stop"));
  if (includeUsage) {
    sse(res, undefined, { ...base, choices: [], usage: openaiUsage(usage) });
  }
  sse(res, undefined, "[DONE]");
  res.end();
}

function anthropicContent(reply: Reply) {
  const content: Record<string, unknown>[] = [];
  const text = reply.text ?? (reply.toolCalls?.length ? undefined : "ok");
  if (text !== undefined) content.push({ type: "text", text });
  (reply.toolCalls ?? []).forEach((c, i) => {
    content.push({ type: "tool_use", id: toolCallId("anthropic", i, c), name: c.name, input: c.args });
  });
  return content;
}

function anthropicJson(model: string, reply: Reply, inputTokens: number) {
  const usage = reply.usage ?? { ...DEFAULT_USAGE, input: inputTokens };
  return {
    id: `msg_fake_${answerSequence}`,
    type: "message",
    role: "assistant",
    model,
    content: anthropicContent(reply),
    stop_reason: reply.toolCalls?.length ? "tool_use" : "end_turn",
    stop_sequence: null,
    usage: { input_tokens: usage.input, output_tokens: usage.output, ...anthropicCacheUsage(usage) },
  };
}

async function anthropicStream(res: ServerResponse, model: string, reply: Reply, inputTokens: number, fault?: Fault): Promise<void> {
  const usage = reply.usage ?? { ...DEFAULT_USAGE, input: inputTokens };
  sse(res, "message_start", {
    type: "message_start",
    message: {
      id: `msg_fake_${answerSequence}`,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: 1, ...anthropicCacheUsage(usage) },
    },
  });
  sse(res, "ping", { type: "ping" });
  await sleep(reply.firstChunkDelayMs);
  for (const [index, block] of anthropicContent(reply).entries()) {
    if (index > 0) await sleep(reply.chunkDelayMs);
    if (block.type === "text") {
      const text = String(block.text);
      const half = Math.ceil(text.length / 2);
      sse(res, "content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } });
      sse(res, "content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: text.slice(0, half) } });
      if (fault?.fault === "reset_during_response") {
        res.socket?.destroy();
        return;
      }
      if (fault?.fault === "overloaded_mid_stream") {
        sse(res, "error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
        res.end();
        return;
      }
      if (text.length > half) {
        await sleep(reply.chunkDelayMs);
        sse(res, "content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: text.slice(half) } });
      }
    } else {
      sse(res, "content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
      });
      sse(res, "content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) },
      });
    }
    sse(res, "content_block_stop", { type: "content_block_stop", index });
  }
  if (res.writableEnded || res.destroyed) return;
  sse(res, "message_delta", {
    type: "message_delta",
    delta: { stop_reason: reply.toolCalls?.length ? "tool_use" : "end_turn", stop_sequence: null },
    usage: { output_tokens: usage.output },
  });
  sse(res, "message_stop", { type: "message_stop" });
  res.end();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Starts a fake provider on a free loopback port. */
export async function startFakeProvider(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  const requests: RecordedRequest[] = [];
  const unmatched: string[] = [];
  const queue: Step[] = [];
  let always: Step | undefined;
  let defaultReply: Reply = { text: "ok" };
  const sockets = new Set<Socket>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const api: ProviderApi | undefined = path === OPENAI_PATH ? "openai" : path === ANTHROPIC_PATH ? "anthropic" : undefined;
    const raw = await readBody(req);
    if (api === undefined || req.method !== "POST") {
      unmatched.push(`${req.method ?? "?"} ${path}`);
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `no route ${path}` } }));
      return;
    }
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // recorded as text
    }
    const fields = (typeof body === "object" && body !== null ? body : {}) as {
      model?: string;
      stream?: boolean;
      stream_options?: { include_usage?: boolean };
      max_tokens?: number;
      max_completion_tokens?: number;
    };
    const stream = fields.stream === true;
    const admitted = options.admit?.({
      api,
      model: fields.model ?? "fake-model",
      apiKey: apiKeyOf(req),
      inputTokens: estimateTokens(body),
      maxTokens: fields.max_tokens ?? fields.max_completion_tokens,
      stream,
    });
    const step = admitted ?? queue.shift() ?? always;
    requests.push({ api, path, method: req.method, headers: { ...req.headers }, body, stream, step });
    answerSequence += 1;
    const requestId = `req_fake_${answerSequence}`;
    const requested = fields.model ?? "fake-model";
    const inputTokens = estimateTokens(body);
    const common: Headers = api === "openai" ? { "x-request-id": requestId } : { "request-id": requestId };

    if (step !== undefined && "fault" in step) {
      if (step.fault === "hang") return;
      if (step.fault === "reset_before_response") {
        req.socket.destroy();
        return;
      }
      const error = errorResponse(api, step, apiKeyOf(req), requestId);
      if (error !== undefined) {
        res.writeHead(error.status, { "content-type": "application/json", ...common, ...error.headers });
        res.end(JSON.stringify(error.body));
        return;
      }
    }
    const reply = step !== undefined && "reply" in step ? step.reply : defaultReply;
    const model = reply.model ?? requested;
    const fault = step !== undefined && "fault" in step ? step : undefined;
    if (!stream) {
      const json = JSON.stringify(api === "openai" ? openaiJson(model, reply, inputTokens) : anthropicJson(model, reply, inputTokens));
      res.writeHead(200, { "content-type": "application/json", ...common });
      if (fault?.fault === "reset_during_response") {
        res.write(json.slice(0, Math.floor(json.length / 2)));
        res.socket?.destroy();
        return;
      }
      res.end(json);
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", ...common });
    if (api === "openai") {
      if (fault?.fault === "overloaded_mid_stream") {
        sse(res, undefined, {
          id: `chatcmpl-fake-${answerSequence}`,
          object: "chat.completion.chunk",
          created: 0,
          model,
          choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
        });
        sse(res, undefined, {
          error: { message: "The server is overloaded, please try again later.", type: "server_error", param: null, code: null },
        });
        res.end();
        return;
      }
      await openaiStream(
        res,
        model,
        reply,
        inputTokens,
        fields.stream_options?.include_usage === true,
        fault?.fault === "reset_during_response",
      );
    } else {
      await anthropicStream(res, model, reply, inputTokens, fault);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    port,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    requests,
    unmatched,
    count: (api) => (api === undefined ? requests.length : requests.filter((r) => r.api === api).length),
    enqueue: (...steps) => {
      queue.push(...steps);
    },
    failAlways: (step) => {
      always = step;
    },
    setDefaultReply: (reply) => {
      defaultReply = reply;
    },
    clear: () => {
      queue.length = 0;
      always = undefined;
      requests.length = 0;
      unmatched.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
