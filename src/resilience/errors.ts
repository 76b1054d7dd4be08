/**
 * Error classes thrown by the resilience wrappers, and the normalisation every wrapper applies first.
 */
import { chainCode, chainStatus, errorTypeName } from "./error-fields.js";
import type { ErrorReason } from "../core/reasons.js";

/** Thrown (and used as the abort reason of the node's `config.signal`) when an attempt passes its deadline. */
export class TimeoutError extends Error {
  /** The per-attempt limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
  constructor(timeoutMs: number, options?: ErrorOptions) {
    super(`Node attempt timed out after ${timeoutMs} ms`, options);
    this.name = "TimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/** Thrown at once, without calling the node, while a circuit breaker is open. */
export class CircuitOpenError extends Error {
  /** Name of the breaker that rejected the call. */
  readonly breaker: string;
  /** Milliseconds until the breaker lets a probe call through (0 while a probe is in flight). */
  readonly retryAfterMs: number;
  constructor(breaker: string, retryAfterMs: number) {
    super(`Circuit breaker "${breaker}" is open; retry after ${retryAfterMs} ms`);
    this.name = "CircuitOpenError";
    this.breaker = breaker;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Thrown by `withRetry` when every permitted attempt failed with a retryable error. The last error stays readable
 * (`cause`, `lastError`, `lastStatus`, `lastCode`, `lastReason`); its message does not enter this error's message,
 * which names only the attempts and the last error's type and reason, so provider text (an echoed key, a prompt)
 * does not travel with it into logs and spans. The last status is `lastStatus`, not `status`: code that reads
 * `status` (LangChain's caller, a breaker's filter) must not take the give-up for a fresh HTTP 503.
 */
export class RetriesExhaustedError extends Error {
  /** How many attempts were made, the first included. */
  readonly attempts: number;
  /** The last attempt's error (also `cause`). */
  readonly lastError: Error;
  /** `classifyError(lastError).reason`. */
  readonly lastReason: ErrorReason;
  /** The HTTP status found on the last error or its causes, if any. */
  readonly lastStatus: number | undefined;
  /** The error code (`ECONNRESET`, `rate_limit_exceeded`) found on the last error or its causes, if any. */
  readonly lastCode: string | undefined;
  declare readonly cause: Error;
  constructor(attempts: number, lastError: Error, lastReason: ErrorReason = "unknown") {
    const status = chainStatus(lastError);
    super(
      `Gave up after ${attempts} attempts; last error: ${errorTypeName(lastError)}${status === undefined ? "" : ` ${status}`} (${lastReason})`,
      { cause: lastError },
    );
    this.name = "RetriesExhaustedError";
    this.attempts = attempts;
    this.lastError = lastError;
    this.lastReason = lastReason;
    this.lastStatus = status;
    this.lastCode = chainCode(lastError);
  }
}

/** Thrown when a duplicate call for an idempotency key that another caller holds did not finish within the wait budget. */
export class IdempotencyConflictError extends Error {
  /** The contested idempotency key. */
  readonly key: string;
  constructor(key: string, waitedMs: number) {
    super(`Idempotency key "${key}" is held by another caller; gave up waiting after ${waitedMs} ms`);
    this.name = "IdempotencyConflictError";
    this.key = key;
  }
}

const STORE_ERROR_BRAND = Symbol.for("langgraph-ops.IdempotencyStoreError");

/**
 * Thrown by a shared idempotency store (`PostgresIdempotencyStore`, `RedisIdempotencyStore`) when an operation failed
 * or did not answer within the store's `operationTimeoutMs`. The message names the store, the operation and, for a
 * deadline, the limit; the driver's error (if any) is `cause`, and its `code` is copied.
 */
export class IdempotencyStoreError extends Error {
  /**
   * Recognises the errors of every copy of this class: the CommonJS build of `langgraph-ops/postgres` and
   * `langgraph-ops/redis` bundles its own, so `instanceof` checks a brand rather than the prototype.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[STORE_ERROR_BRAND] === true;
  }
  /** The store class, e.g. `"RedisIdempotencyStore"`. */
  readonly store: string;
  /** The operation: `claim`, `complete`, `release`, `sweep`, `setup` or `close`. */
  readonly operation: string;
  /** Set when the operation passed its deadline: the store's `operationTimeoutMs`. */
  readonly timeoutMs: number | undefined;
  /** The driver's error code, or `ETIMEDOUT` for a deadline. */
  readonly code: string | undefined;
  constructor(store: string, operation: string, detail: string, options: { cause?: unknown; code?: string; timeoutMs?: number } = {}) {
    super(`${store}.${operation} failed: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "IdempotencyStoreError";
    this.store = store;
    this.operation = operation;
    this.timeoutMs = options.timeoutMs;
    this.code = options.code ?? (options.timeoutMs === undefined ? undefined : "ETIMEDOUT");
    Object.defineProperty(this, STORE_ERROR_BRAND, { value: true });
  }
}

/** Thrown when a bulkhead has `limit` calls running and `queue` waiting. */
export class BulkheadRejectedError extends Error {
  /** The bulkhead's concurrency limit. */
  readonly limit: number;
  /** The bulkhead's queue length. */
  readonly queue: number;
  constructor(limit: number, queue: number) {
    super(`Bulkhead full: ${limit} running and ${queue} queued`);
    this.name = "BulkheadRejectedError";
    this.limit = limit;
    this.queue = queue;
  }
}

/**
 * Thrown by a rate limiter when a call would have to wait for capacity longer than it may (`maxWaitMs`, the retry
 * budget or the run's deadline): the call is not made. Retryable after `retryAfterMs`; never a breaker failure (the
 * dependency is fine, this process chose not to call it).
 */
export class RateLimitedError extends Error {
  /** Name of the limiter that refused the call. */
  readonly limiter: string;
  /** Milliseconds until the call would conform to the limit. */
  readonly retryAfterMs: number;
  constructor(limiter: string, retryAfterMs: number, maxWaitMs: number) {
    super(`Rate limiter "${limiter}" has no capacity within ${maxWaitMs} ms; retry after ${retryAfterMs} ms`);
    this.name = "RateLimitedError";
    this.limiter = limiter;
    this.retryAfterMs = retryAfterMs;
  }
}

export { toError } from "../core/errors.js";
