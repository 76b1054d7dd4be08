import { ABORT_ERROR_NAMES, isAbortMessage } from "../core/abort.js";
import { isGraphBubbleUp } from "@langchain/langgraph";
import { BulkheadRejectedError, CircuitOpenError, RateLimitedError, RetriesExhaustedError, TimeoutError } from "./errors.js";
import { causeChain, type ErrorFields, kindsOf, langChainRetryable, ownCode, ownStatus, ownTypes } from "./error-fields.js";
import type { ErrorReason } from "../core/reasons.js";
import { retryAfterFromHeaders } from "./retry-after.js";

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

/** Whether each reason is retried and counted as a breaker failure: one row per reason, as in the README's table. */
const POLICY: Readonly<Record<ErrorReason, readonly [retryable: boolean, countsAsFailure: boolean]>> = {
  rate_limited: [true, true],
  server_error: [true, true],
  overloaded: [true, true],
  timeout: [true, true],
  network: [true, true],
  circuit_open: [false, false],
  bulkhead_full: [true, false],
  throttled: [true, false],
  retries_exhausted: [false, false],
  context_overflow: [false, false],
  auth: [false, false],
  client_error: [false, false],
  quota_exceeded: [false, false],
  aborted: [false, false],
  programmer_error: [false, false],
  control_flow: [false, false],
  unknown: [true, true],
};

/** Reasons whose server delay (`Retry-After` and friends) is worth reading. */
const DELAYED: ReadonlySet<ErrorReason> = new Set(["rate_limited", "server_error", "overloaded", "timeout"]);

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
  "UND_ERR_REQ_RETRY",
  "UND_ERR_RESPONSE_STATUS_CODE",
]);
const TIMEOUT_CODES = new Set([
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ABORT_ERR_TIMEOUT",
  "TIMEOUT_ERR",
]);
const CONTEXT_OVERFLOW_KINDS = ["ContextOverflowError"];
const QUOTA_KINDS = ["InsufficientQuotaError", "RateLimitQuotaExhaustedError"];
const AUTH_KINDS = ["AuthenticationError", "PermissionDeniedError"];
const TIMEOUT_KINDS = ["TimeoutError", "APIConnectionTimeoutError", "ConnectTimeoutError", "HeadersTimeoutError", "BodyTimeoutError"];
const OVERLOAD_KINDS = ["OverloadedError"];
const RATE_LIMIT_KINDS = ["RateLimitError", "RateLimitCapacityError"];
const SERVER_KINDS = ["InternalServerError", "ServiceUnavailableError", "GatewayTimeoutError"];
const CLIENT_KINDS = [
  "BadRequestError",
  "NotFoundError",
  "ConflictError",
  "UnprocessableEntityError",
  "RequestTooLargeError",
  "ModelRefusalError",
];
/** Connection failures whose cause may say more (a connect timeout under an `APIConnectionError`). */
const NETWORK_KINDS = ["APIConnectionError", "FetchError", "ConnectionError", "SocketError"];
const PROGRAMMER_KINDS = ["TypeError", "ReferenceError", "SyntaxError", "RangeError", "GraphValueError", "InvalidUpdateError"];
const NETWORK_TYPE_ERROR = /fetch failed|network|socket|terminated|other side closed/i;
const CONTEXT_OVERFLOW_TEXT = /prompt is too long|maximum context length|context[_ ]length[_ ]exceeded|context window/i;
const QUOTA_TEXT = /insufficient[_ ]quota|credit balance is too low|exceeded your current quota/i;

function hasKind(kinds: Set<string>, list: readonly string[]): boolean {
  for (const kind of list) if (kinds.has(kind)) return true;
  return false;
}

function messageOf(e: ErrorFields): string {
  return typeof e.message === "string" ? e.message : "";
}

/**
 * What one link of the chain says on its own: a reason, "network?" when it is a connection failure that a deeper
 * cause may refine into a timeout, or undefined when it says nothing (a plain wrapper).
 */
function judge(e: ErrorFields): ErrorReason | "network?" | undefined {
  if (isGraphBubbleUp(e)) return "control_flow";
  if (e instanceof CircuitOpenError) return "circuit_open";
  if (e instanceof BulkheadRejectedError) return "bulkhead_full";
  if (e instanceof RateLimitedError) return "throttled";
  if (e instanceof RetriesExhaustedError) return "retries_exhausted";
  if (e instanceof TimeoutError) return "timeout";
  // A shared idempotency store past its deadline (recognised by name: the subpath bundles carry their own class copy).
  if (e.name === "IdempotencyStoreError" && typeof (e as { timeoutMs?: unknown }).timeoutMs === "number") return "timeout";

  const kinds = kindsOf(e);
  const status = ownStatus(e);
  const code = ownCode(e);
  const types = ownTypes(e);
  const lc = typeof e.lc_error_code === "string" ? e.lc_error_code : undefined;
  const message = messageOf(e);

  // The SDK's timeout error wraps the AbortError of its own timer: the timeout is checked before the abort.
  if (kinds.has("APIConnectionTimeoutError")) return "timeout";
  if (hasKind(kinds, ABORT_ERROR_NAMES) || lc === "MODEL_ABORTED" || code === "ABORT_ERR" || code === "ECONNABORTED") return "aborted";
  if (isAbortMessage(message)) return "aborted";
  if (
    hasKind(kinds, CONTEXT_OVERFLOW_KINDS) ||
    lc === "CONTEXT_OVERFLOW" ||
    code === "context_length_exceeded" ||
    ((status === 400 || status === 413) && CONTEXT_OVERFLOW_TEXT.test(message))
  ) {
    return "context_overflow";
  }
  if (
    hasKind(kinds, QUOTA_KINDS) ||
    code === "insufficient_quota" ||
    types.includes("insufficient_quota") ||
    types.includes("billing_error") ||
    status === 402 ||
    ((status === undefined || status === 400 || status === 429) && QUOTA_TEXT.test(message))
  ) {
    return "quota_exceeded";
  }
  if (
    status === 401 ||
    status === 403 ||
    hasKind(kinds, AUTH_KINDS) ||
    lc === "MODEL_AUTHENTICATION" ||
    types.includes("authentication_error") ||
    types.includes("permission_error")
  ) {
    return "auth";
  }
  if (status === 529 || hasKind(kinds, OVERLOAD_KINDS) || types.includes("overloaded_error")) return "overloaded";
  if (status === 429 || hasKind(kinds, RATE_LIMIT_KINDS) || types.includes("rate_limit_error") || lc === "MODEL_RATE_LIMIT") {
    return "rate_limited";
  }
  if (status === 408) return "timeout";
  if (status !== undefined && status >= 500) return "server_error";
  if (status !== undefined && status >= 400) return "client_error";
  if (hasKind(kinds, SERVER_KINDS) || types.includes("api_error") || types.includes("server_error")) return "server_error";
  if (hasKind(kinds, CLIENT_KINDS) || types.includes("invalid_request_error") || types.includes("not_found_error")) return "client_error";
  if (lc === "MODEL_NOT_FOUND") return "client_error";
  if (code !== undefined && TIMEOUT_CODES.has(code)) return "timeout";
  if (code !== undefined && NETWORK_CODES.has(code)) return "network";
  if (hasKind(kinds, TIMEOUT_KINDS)) return "timeout";
  if (hasKind(kinds, NETWORK_KINDS)) return "network?";
  if (kinds.has("TypeError") && NETWORK_TYPE_ERROR.test(message)) return "network?";
  if (hasKind(kinds, PROGRAMMER_KINDS)) return "programmer_error";
  return undefined;
}

function delayOf(chain: ErrorFields[], decidedAt: number): number | undefined {
  for (let i = decidedAt; i < chain.length; i += 1) {
    const link = chain[i] as ErrorFields;
    const fromHeaders = retryAfterFromHeaders(link);
    if (fromHeaders !== undefined) return fromHeaders;
    // LangChain's AsyncCaller copies the server's delay onto rate-limit errors it rethrows.
    if (typeof link.retryAfterMs === "number" && Number.isFinite(link.retryAfterMs) && link.retryAfterMs >= 0) return link.retryAfterMs;
  }
  return undefined;
}

/**
 * Classifies an error for retry, circuit breaking and metrics. One table serves all three, so a 400 is neither retried
 * nor counted against a provider's health, while a 503 is both. The `cause` chain is followed (bounded, cycle safe):
 * the outermost link that says what happened decides, so `ContextOverflowError` → `BadRequestError` is a context
 * overflow and `APIConnectionError` → `TypeError` → `UND_ERR_SOCKET` a network error. LangChain's retryable marker
 * (`stampRetryable` / `getRetryable`) is final when it says "not retryable"; "retryable" is only a hint, used for
 * errors nothing else recognises. See the README's error classification table.
 */
export function classifyError(error: unknown): ErrorClassification {
  const chain = causeChain(error);
  if (chain.length === 0) return verdict("unknown");
  let reason: ErrorReason | undefined;
  let decidedAt = 0;
  let network = -1;
  for (let i = 0; i < chain.length && reason === undefined; i += 1) {
    let said: ReturnType<typeof judge>;
    try {
      said = judge(chain[i] as ErrorFields);
    } catch {
      // A hostile object (a proxy whose traps throw) says nothing; classification itself never throws.
      said = undefined;
    }
    if (said === "network?") {
      if (network < 0) network = i;
    } else if (said !== undefined && (network < 0 || said === "timeout" || said === "network")) {
      reason = said;
      decidedAt = i;
    } else if (said !== undefined) {
      // A connection failure whose cause is something else (an abort of the request) stays a connection failure.
      break;
    }
  }
  if (reason === undefined && network >= 0) {
    reason = "network";
    decidedAt = network;
  }
  reason ??= "unknown";
  const retryAfterMs =
    reason === "circuit_open" || reason === "throttled"
      ? (chain[decidedAt] as unknown as CircuitOpenError | RateLimitedError).retryAfterMs
      : DELAYED.has(reason)
        ? delayOf(chain, decidedAt)
        : undefined;
  const result = verdict(reason, retryAfterMs);
  if (result.retryable && reason !== "control_flow") {
    for (const link of chain) {
      const marker = langChainRetryable(link);
      if (marker === undefined) continue;
      if (marker === false) result.retryable = false;
      break;
    }
  }
  return result;
}

function verdict(reason: ErrorReason, retryAfterMs?: number): ErrorClassification {
  const [retryable, countsAsFailure] = POLICY[reason];
  return retryAfterMs === undefined ? { retryable, countsAsFailure, reason } : { retryable, countsAsFailure, reason, retryAfterMs };
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
