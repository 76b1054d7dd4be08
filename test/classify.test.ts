import * as AnthropicSdk from "@anthropic-ai/sdk";
import * as LangChainErrors from "@langchain/core/errors";
import { ContextOverflowError, ModelAbortError } from "@langchain/core/errors";
import { GraphInterrupt } from "@langchain/langgraph";
import * as OpenAISdk from "openai";
import { describe, expect, it } from "vitest";
import {
  BulkheadRejectedError,
  CircuitOpenError,
  ERROR_REASONS,
  RetriesExhaustedError,
  TimeoutError,
  classifyError,
  errorTypeName,
  retryAfterFromHeaders,
  toError,
} from "../src/index.js";
import { httpError } from "./support/graph.js";

const openaiBody = (type: string, code: string | null) => ({ message: "m", type, param: null, code });
const anthropicBody = (type: string) => ({ type: "error", error: { type, message: "m" } });
const openai = (status: number, body: object, headers: Record<string, string> = {}) =>
  OpenAISdk.APIError.generate(status, { error: body }, "m", new Headers(headers));
const anthropic = (status: number, type: string, headers: Record<string, string> = {}, message = "m") =>
  AnthropicSdk.APIError.generate(status, { type: "error", error: { type, message } }, message, new Headers(headers));
/** What undici's fetch throws on a reset: TypeError("fetch failed") whose cause carries the code. */
const fetchFailed = (code: string) =>
  new TypeError("fetch failed", { cause: Object.assign(new Error("other side closed"), { name: "SocketError", code }) });

describe("classifyError", () => {
  it.each([
    ["429", httpError(429), true, true, "rate_limited"],
    ["408", httpError(408), true, true, "timeout"],
    ["500", httpError(500), true, true, "server_error"],
    ["503 via statusCode", Object.assign(new Error("x"), { statusCode: 503 }), true, true, "server_error"],
    ["502 via response.status", Object.assign(new Error("x"), { response: { status: 502 } }), true, true, "server_error"],
    ["529", httpError(529), true, true, "overloaded"],
    ["400", httpError(400), false, false, "client_error"],
    ["401", httpError(401), false, false, "auth"],
    ["403", httpError(403), false, false, "auth"],
    ["407", httpError(407), false, false, "client_error"],
    ["409", httpError(409), false, false, "client_error"],
    ["422", httpError(422), false, false, "client_error"],
    ["insufficient_quota", Object.assign(httpError(429), { error: { code: "insufficient_quota" } }), false, false, "quota_exceeded"],
    ["ECONNRESET", Object.assign(new Error("reset"), { code: "ECONNRESET" }), true, true, "network"],
    ["fetch failed", new TypeError("fetch failed"), true, true, "network"],
    ["APIConnectionTimeoutError by name", Object.assign(new Error("t"), { name: "APIConnectionTimeoutError" }), true, true, "timeout"],
    ["TimeoutError", new TimeoutError(10), true, true, "timeout"],
    ["TypeError", new TypeError("x is not a function"), false, false, "programmer_error"],
    ["ReferenceError", new ReferenceError("y"), false, false, "programmer_error"],
    ["AbortError", Object.assign(new Error("The operation was aborted"), { name: "AbortError" }), false, false, "aborted"],
    // What @langchain/core's getAbortSignalError throws: the run tracker calls it cancelled, so classification agrees.
    ['Error("Aborted")', new Error("Aborted"), false, false, "aborted"],
    ["GraphInterrupt", new GraphInterrupt([]), false, false, "control_flow"],
    ["CircuitOpenError", new CircuitOpenError("b", 100), false, false, "circuit_open"],
    ["BulkheadRejectedError", new BulkheadRejectedError(1, 0), true, false, "bulkhead_full"],
    ["RetriesExhaustedError", new RetriesExhaustedError(3, new Error("x")), false, false, "retries_exhausted"],
    ["plain Error", new Error("boom"), true, true, "unknown"],
  ])("%s", (_name, error, retryable, countsAsFailure, reason) => {
    expect(classifyError(error)).toMatchObject({ retryable, countsAsFailure, reason });
  });

  it("carries the server's delay", () => {
    expect(classifyError(httpError(429, { "retry-after": "7" })).retryAfterMs).toBe(7000);
    expect(classifyError(new CircuitOpenError("b", 1234)).retryAfterMs).toBe(1234);
  });
});

describe("classifyError with the SDKs' own error classes", () => {
  it.each([
    [
      "openai RateLimitError",
      openai(429, openaiBody("requests", "rate_limit_exceeded"), { "retry-after-ms": "1500" }),
      true,
      true,
      "rate_limited",
      1500,
    ],
    [
      "openai 429 reset headers",
      openai(429, openaiBody("tokens", "rate_limit_exceeded"), { "x-ratelimit-reset-tokens": "6m0s" }),
      true,
      true,
      "rate_limited",
      360_000,
    ],
    [
      "openai insufficient_quota",
      openai(429, openaiBody("insufficient_quota", "insufficient_quota")),
      false,
      false,
      "quota_exceeded",
      undefined,
    ],
    ["openai InternalServerError 500", openai(500, openaiBody("server_error", null)), true, true, "server_error", undefined],
    [
      "openai 503 with retry-after",
      openai(503, openaiBody("server_error", null), { "retry-after": "2" }),
      true,
      true,
      "server_error",
      2000,
    ],
    [
      "openai context_length_exceeded",
      openai(400, openaiBody("invalid_request_error", "context_length_exceeded")),
      false,
      false,
      "context_overflow",
      undefined,
    ],
    ["openai BadRequestError", openai(400, openaiBody("invalid_request_error", "invalid_value")), false, false, "client_error", undefined],
    ["openai AuthenticationError", openai(401, openaiBody("invalid_request_error", "invalid_api_key")), false, false, "auth", undefined],
    ["openai PermissionDeniedError", openai(403, openaiBody("invalid_request_error", null)), false, false, "auth", undefined],
    [
      "openai APIConnectionError → fetch failed → UND_ERR_SOCKET",
      new OpenAISdk.APIConnectionError({ cause: fetchFailed("UND_ERR_SOCKET") }),
      true,
      true,
      "network",
      undefined,
    ],
    [
      "openai APIConnectionError → connect timeout",
      new OpenAISdk.APIConnectionError({ cause: fetchFailed("UND_ERR_CONNECT_TIMEOUT") }),
      true,
      true,
      "timeout",
      undefined,
    ],
    [
      "openai APIConnectionTimeoutError (name Error, AbortError cause)",
      Object.assign(new OpenAISdk.APIConnectionTimeoutError(), { cause: new DOMException("aborted", "AbortError") }),
      true,
      true,
      "timeout",
      undefined,
    ],
    ["openai APIUserAbortError", new OpenAISdk.APIUserAbortError(), false, false, "aborted", undefined],
    [
      "openai mid-stream error event",
      new OpenAISdk.APIError(undefined, openaiBody("server_error", null), "overloaded", undefined),
      true,
      true,
      "server_error",
      undefined,
    ],
    ["anthropic RateLimitError", anthropic(429, "rate_limit_error", { "retry-after": "3" }), true, true, "rate_limited", 3000],
    ["anthropic OverloadedError 529", anthropic(529, "overloaded_error"), true, true, "overloaded", undefined],
    ["anthropic ServiceUnavailableError", anthropic(503, "api_error"), true, true, "server_error", undefined],
    [
      "anthropic prompt is too long",
      anthropic(400, "invalid_request_error", {}, "prompt is too long: 215734 tokens > 200000 maximum"),
      false,
      false,
      "context_overflow",
      undefined,
    ],
    [
      "anthropic credit balance too low",
      anthropic(400, "invalid_request_error", {}, "Your credit balance is too low to access the Anthropic API."),
      false,
      false,
      "quota_exceeded",
      undefined,
    ],
    ["anthropic PaymentRequiredError", anthropic(402, "billing_error"), false, false, "quota_exceeded", undefined],
    ["anthropic AuthenticationError", anthropic(401, "authentication_error"), false, false, "auth", undefined],
    [
      "anthropic mid-stream overloaded_error",
      new AnthropicSdk.APIError(undefined, anthropicBody("overloaded_error"), "Overloaded", undefined),
      true,
      true,
      "overloaded",
      undefined,
    ],
    ["anthropic APIConnectionTimeoutError", new AnthropicSdk.APIConnectionTimeoutError(), true, true, "timeout", undefined],
    [
      "LangChain ContextOverflowError (status only on cause)",
      ContextOverflowError.fromError(openai(400, openaiBody("invalid_request_error", "context_length_exceeded"))),
      false,
      false,
      "context_overflow",
      undefined,
    ],
    ["LangChain ModelAbortError", new ModelAbortError("aborted"), false, false, "aborted", undefined],
    [
      "AbortSignal.timeout() reason",
      new DOMException("The operation was aborted due to timeout", "TimeoutError"),
      true,
      true,
      "timeout",
      undefined,
    ],
    ["EAI_AGAIN", Object.assign(new Error("getaddrinfo EAI_AGAIN"), { code: "EAI_AGAIN" }), true, true, "network", undefined],
    ["ETIMEDOUT", Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" }), true, true, "timeout", undefined],
    ["UND_ERR_HEADERS_TIMEOUT", fetchFailed("UND_ERR_HEADERS_TIMEOUT"), true, true, "timeout", undefined],
  ])("%s", (_name, error, retryable, countsAsFailure, reason, retryAfterMs) => {
    const result = classifyError(error);
    expect(result).toMatchObject({ retryable, countsAsFailure, reason });
    expect(result.retryAfterMs).toBe(retryAfterMs);
  });

  it("names the error by class when its name is the generic Error", () => {
    expect(errorTypeName(openai(503, openaiBody("server_error", null)))).toBe("InternalServerError");
    expect(errorTypeName(new OpenAISdk.APIConnectionTimeoutError())).toBe("APIConnectionTimeoutError");
    expect(errorTypeName(new TimeoutError(5))).toBe("TimeoutError");
    expect(errorTypeName(new Error("x"))).toBe("Error");
    expect(errorTypeName("text")).toBe("string");
  });
});

describe("classifyError along the cause chain", () => {
  it("finds status, code and headers on a cause", () => {
    const wrapped = new Error("node failed", { cause: httpError(429, { "retry-after": "4" }) });
    expect(classifyError(wrapped)).toEqual({ retryable: true, countsAsFailure: true, reason: "rate_limited", retryAfterMs: 4000 });
    expect(classifyError(new Error("a", { cause: new Error("b", { cause: fetchFailed("ECONNRESET") }) })).reason).toBe("network");
  });

  it("lets the outermost link that knows decide", () => {
    const overflow = new ContextOverflowError("too long");
    (overflow as { cause?: unknown }).cause = httpError(503);
    expect(classifyError(overflow).reason).toBe("context_overflow");
  });

  it("is safe on cycles and stops at a bounded depth", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(classifyError(a)).toMatchObject({ reason: "unknown" });
    let deep: Error = httpError(503);
    for (let i = 0; i < 50; i += 1) deep = new Error("wrap", { cause: deep });
    expect(classifyError(deep).reason).toBe("unknown");
  });

  it("never throws on an exotic error", () => {
    const hostile = new Proxy(new Error("x"), {
      getPrototypeOf() {
        throw new Error("no");
      },
    });
    expect(classifyError(hostile).reason).toBeDefined();
  });
});

/**
 * LangChain's own `stampRetryable` where the installed core has it; the oldest core the peer range admits predates it,
 * and the kit reads the marker's well-known symbol either way.
 */
function stampRetryable<T extends Error>(error: T, retryable: boolean): T {
  const stamp = (LangChainErrors as { stampRetryable?: (e: T, r: boolean) => T }).stampRetryable;
  if (typeof stamp === "function") return stamp(error, retryable);
  Object.defineProperty(error, Symbol.for("langchain.errors.retryable"), { value: retryable });
  return error;
}

describe("LangChain's retryable marker", () => {
  it("is final when it says not retryable", () => {
    const error = stampRetryable(httpError(503), false);
    expect(classifyError(error)).toMatchObject({ retryable: false, reason: "server_error" });
    expect(classifyError(new Error("wrap", { cause: stampRetryable(new Error("x"), false) })).retryable).toBe(false);
  });

  it("is only a hint when it says retryable", () => {
    expect(classifyError(stampRetryable(httpError(400), true))).toMatchObject({ retryable: false, reason: "client_error" });
    expect(classifyError(stampRetryable(new Error("x"), true))).toMatchObject({ retryable: true, reason: "unknown" });
  });
});

describe("RetriesExhaustedError", () => {
  it("keeps the last error readable and its text out of its own message", () => {
    const last = openai(503, { message: "sk-proj-SECRET in the body", type: "server_error", param: null, code: "overloaded" });
    const error = new RetriesExhaustedError(3, last, classifyError(last).reason);
    expect(error.cause).toBe(last);
    expect(error.lastError).toBe(last);
    expect(error).toMatchObject({ attempts: 3, lastStatus: 503, lastCode: "overloaded", lastReason: "server_error" });
    expect(error.message).toBe("Gave up after 3 attempts; last error: InternalServerError 503 (server_error)");
    expect(error.message).not.toContain("SECRET");
    expect((error as { status?: unknown }).status).toBeUndefined();
  });
});

describe("ERROR_REASONS", () => {
  it("lists every reason once", () => {
    expect(new Set(ERROR_REASONS).size).toBe(ERROR_REASONS.length);
    expect(ERROR_REASONS).toContain("context_overflow");
    expect(ERROR_REASONS).toContain("auth");
  });
});

describe("retryAfterFromHeaders", () => {
  it.each([
    [{ "retry-after-ms": "250" }, 250],
    [{ "Retry-After": "3" }, 3000],
    [{ "retry-after": "1.5" }, 1500],
    [{ "x-ratelimit-reset-requests": "6m0s" }, 360_000],
    [{ "x-ratelimit-reset-tokens": "20ms" }, 20],
    [{ "x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "5s" }, 5000],
    [{ "retry-after": "soon" }, undefined],
    [{}, undefined],
  ])("%j → %s", (headers, expected) => {
    expect(retryAfterFromHeaders({ headers }, 0)).toBe(expected);
  });
});

describe("toError", () => {
  it("keeps Errors and wraps everything else with String(value) in the message", () => {
    const e = new Error("x");
    expect(toError(e)).toBe(e);
    expect(toError("boom").message).toContain("boom");
    expect(toError(undefined).message).toContain("undefined");
    const wrapped = toError({ status: 429, headers: { "retry-after": "1" } });
    expect(classifyError(wrapped).reason).toBe("rate_limited");
    expect(toError(Object.create(null)).message).toContain("[object Object]");
  });
});
