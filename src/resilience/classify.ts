import { isGraphBubbleUp } from "@langchain/langgraph";
import { retryAfterFromHeaders } from "./retry-after.js";
import { BulkheadRejectedError, CircuitOpenError, RetriesExhaustedError, TimeoutError } from "./errors.js";

/** Low-cardinality reason for an error; safe to use as a metric label. */
export type ErrorReason =
  | "rate_limited"
  | "server_error"
  | "overloaded"
  | "timeout"
  | "network"
  | "circuit_open"
  | "bulkhead_full"
  | "retries_exhausted"
  | "client_error"
  | "quota_exceeded"
  | "aborted"
  | "programmer_error"
  | "control_flow"
  | "unknown";

/** What the wrappers do with an error. */
export interface ErrorClassification {
  /** Whether `withRetry` retries it by default. */
  retryable: boolean;
  /** Whether a circuit breaker counts it as a failure of the dependency by default. */
  countsAsFailure: boolean;
  /** Low-cardinality reason, used as the `reason` label of retry metrics. */
  reason: ErrorReason;
  /** Delay the server asked for (`Retry-After`, `retry-after-ms`, `x-ratelimit-reset-*`), or a breaker's time to half-open. */
  retryAfterMs?: number;
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED_BY_PEER",
  "EPIPE",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);
const TIMEOUT_CODES = new Set([
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);
const NETWORK_NAMES = new Set(["APIConnectionError", "FetchError", "ConnectionError"]);
const TIMEOUT_NAMES = new Set(["TimeoutError", "APIConnectionTimeoutError", "NodeTimeoutError", "ConnectTimeoutError"]);
const PROGRAMMER_NAMES = new Set(["TypeError", "ReferenceError", "SyntaxError", "RangeError", "GraphValueError", "InvalidUpdateError"]);
const NETWORK_TYPE_ERROR = /fetch failed|network|socket|terminated|other side closed/i;

type Fields = {
  name?: unknown;
  message?: unknown;
  status?: unknown;
  statusCode?: unknown;
  code?: unknown;
  type?: unknown;
  response?: { status?: unknown };
  error?: { code?: unknown; type?: unknown };
  cause?: unknown;
};

function statusOf(e: Fields): number | undefined {
  for (const value of [e.status, e.statusCode, e.response?.status]) {
    if (typeof value === "number" && Number.isInteger(value)) return value;
    if (typeof value === "string" && /^\d{3}$/.test(value)) return Number(value);
  }
  return undefined;
}

function codeOf(e: Fields): string | undefined {
  if (typeof e.code === "string") return e.code;
  const cause = e.cause as Fields | undefined;
  return typeof cause === "object" && cause !== null && typeof cause.code === "string" ? cause.code : undefined;
}

function mentionsQuota(e: Fields): boolean {
  return (
    e.code === "insufficient_quota" ||
    e.type === "insufficient_quota" ||
    e.error?.code === "insufficient_quota" ||
    e.error?.type === "insufficient_quota" ||
    (typeof e.message === "string" && e.message.includes("insufficient_quota"))
  );
}

function isOverload(e: Fields): boolean {
  return e.type === "overloaded_error" || e.error?.type === "overloaded_error" || e.name === "OverloadedError";
}

function isAbort(e: Fields): boolean {
  if (e.name === "AbortError") return true;
  if (typeof e.message === "string" && (e.message.startsWith("AbortError") || e.message.startsWith("Cancel") || e.message === "Abort"))
    return true;
  return e.code === "ABORT_ERR" || e.code === "ECONNABORTED";
}

function result(retryable: boolean, countsAsFailure: boolean, reason: ErrorReason, retryAfterMs?: number): ErrorClassification {
  return retryAfterMs === undefined ? { retryable, countsAsFailure, reason } : { retryable, countsAsFailure, reason, retryAfterMs };
}

/**
 * Classifies an error for retry, circuit breaking and metrics. One table serves all three, so a 400 is neither retried
 * nor counted against a provider's health, while a 503 is both. See the README's error classification table.
 */
export function classifyError(error: unknown): ErrorClassification {
  if (isGraphBubbleUp(error)) return result(false, false, "control_flow");
  if (error instanceof CircuitOpenError) return result(false, false, "circuit_open", error.retryAfterMs);
  if (error instanceof BulkheadRejectedError) return result(true, false, "bulkhead_full");
  if (error instanceof RetriesExhaustedError) return result(false, false, "retries_exhausted");
  if (error instanceof TimeoutError) return result(true, true, "timeout");
  if (typeof error !== "object" || error === null) return result(true, true, "unknown");

  const e = error as Fields;
  // A shared idempotency store past its deadline (recognised by name: the subpath bundles carry their own class copy).
  if (e.name === "IdempotencyStoreError" && typeof (error as { timeoutMs?: unknown }).timeoutMs === "number")
    return result(true, true, "timeout");
  if (isAbort(e)) return result(false, false, "aborted");
  if (mentionsQuota(e)) return result(false, false, "quota_exceeded");

  const status = statusOf(e);
  if (status !== undefined) {
    if (status === 429) return result(true, true, "rate_limited", retryAfterFromHeaders(error));
    if (status === 408) return result(true, true, "timeout", retryAfterFromHeaders(error));
    if (status === 529 || isOverload(e)) return result(true, true, "overloaded", retryAfterFromHeaders(error));
    if (status >= 500 && status <= 599) return result(true, true, "server_error", retryAfterFromHeaders(error));
    if (status >= 400 && status <= 499) return result(false, false, "client_error");
  }
  if (isOverload(e)) return result(true, true, "overloaded", retryAfterFromHeaders(error));

  const code = codeOf(e);
  if (code !== undefined && TIMEOUT_CODES.has(code)) return result(true, true, "timeout");
  if (code !== undefined && NETWORK_CODES.has(code)) return result(true, true, "network");
  const name = typeof e.name === "string" ? e.name : "";
  if (TIMEOUT_NAMES.has(name)) return result(true, true, "timeout");
  if (NETWORK_NAMES.has(name)) return result(true, true, "network");
  if (name === "TypeError" && typeof e.message === "string" && NETWORK_TYPE_ERROR.test(e.message)) {
    return result(true, true, "network");
  }
  if (PROGRAMMER_NAMES.has(name)) return result(false, false, "programmer_error");
  return result(true, true, "unknown");
}

/** Marks an error as already handled by a kit wrapper, so LangGraph's own `RetryPolicy` does not retry it again. */
const HANDLED = Symbol.for("langgraph-ops.handled");

/** @internal Marks `error` as handled by a wrapper (retries already spent or deliberately skipped). */
export function markHandled(error: Error): Error {
  (error as unknown as Record<symbol, boolean>)[HANDLED] = true;
  return error;
}

/**
 * A `retryOn` for LangGraph's own `RetryPolicy`: false for errors a kit wrapper already handled (retries exhausted,
 * an open breaker, a full bulkhead, a non-retryable error that `withRetry` saw), for control flow and for everything
 * `classifyError` calls non-retryable. Use it on nodes wrapped with `withRetry` so attempts add up instead of multiplying.
 */
export function langGraphRetryOn(error: unknown): boolean {
  if (typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[HANDLED] === true) return false;
  if (error instanceof CircuitOpenError || error instanceof BulkheadRejectedError) return false;
  return classifyError(error).retryable;
}
