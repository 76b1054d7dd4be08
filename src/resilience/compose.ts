/**
 * `resilient()`: every policy in one wrapper, in a fixed order (outermost first):
 * fallback → idempotency → retry → circuit breaker → rate limit → bulkhead → timeout → node.
 * Idempotency sits outside retry so that all attempts share one key; the breaker sits inside retry so each attempt
 * is counted and an open breaker is seen (and not hammered) by the retry loop; the rate limiter sits inside the
 * breaker so an open breaker spends no budget, and outside the bulkhead and the timeout so that waiting for capacity
 * holds no slot and does not eat the attempt's deadline; the timeout is per attempt.
 */
import { assertFunction, checkOptions, type OptionSpec, rule } from "../core/options.js";
import { BULKHEAD_OPTIONS, type BulkheadOptions, bulkheadNode, resolveBulkheadOptions } from "./bulkhead.js";
import { BREAKER_OR_OPTIONS, type CircuitBreaker, type CircuitBreakerOptions, breakerNode, toBreaker } from "./circuit-breaker.js";
import { type FallbackFn, fallbackNode } from "./fallback.js";
import { IDEMPOTENCY_OPTIONS, type IdempotencyOptions, idempotentNode, resolveIdempotencyOptions } from "./idempotency.js";
import {
  RATE_LIMITER_OR_OPTIONS,
  type RateLimiter,
  type RateLimiterOptions,
  rateLimitNode,
  resolveRateLimiterOptions,
  toRateLimiter,
} from "./rate-limit.js";
import { RETRY_OPTIONS, type RetryOptions, resolveRetryOptions, retryNode } from "./retry.js";
import { TIMEOUT_ARGUMENT, type TimeoutOptions, resolveTimeoutMs, timeoutNode } from "./timeout.js";
import type { ConfigOf, FallbackUpdateOf, NodeBound, NodeFn, StateOf, WrappedNode, WrappedWithFallback } from "./types.js";

/** Options of `resilient`; every key is optional and switches its policy on. */
export interface ResilientOptions<S, U, C> {
  /** Replacement update when everything inside gave up. */
  fallback?: FallbackFn<S, U, C>;
  /** Memoise the node's update per task (`true`) or per custom key. */
  idempotency?: true | IdempotencyOptions<S, C>;
  /** Retry with backoff. */
  retry?: RetryOptions;
  /** A shared breaker or options for a breaker of this node (named after the node function when unnamed). */
  circuitBreaker?: CircuitBreaker | CircuitBreakerOptions;
  /** A shared rate limiter or options for one (named after the node function when unnamed). */
  rateLimit?: RateLimiter | RateLimiterOptions;
  /** Concurrency limit in this process. */
  bulkhead?: BulkheadOptions;
  /** Per-attempt deadline in ms. */
  timeout?: number | TimeoutOptions;
}

/** @internal The accepted keys of {@link ResilientOptions}: validation and the bad-input sweep read it. */
export const RESILIENT_OPTIONS = {
  fallback: rule.function(),
  idempotency: rule.union(rule.literal(true), rule.options(IDEMPOTENCY_OPTIONS)),
  retry: rule.options(RETRY_OPTIONS),
  // Unnamed breaker options take the node function's name.
  circuitBreaker: BREAKER_OR_OPTIONS,
  rateLimit: RATE_LIMITER_OR_OPTIONS,
  bulkhead: rule.options(BULKHEAD_OPTIONS),
  timeout: { ...TIMEOUT_ARGUMENT, required: false },
} as const satisfies OptionSpec<keyof ResilientOptions<unknown, unknown, unknown>>;

/**
 * Wraps a node with the policies named in `options`, composed in the documented order.
 * @example
 * builder.addNode("call_model", resilient(callModel, {
 *   timeout: 30_000,
 *   retry: { retries: 3, maxElapsedMs: 90_000 },
 *   circuitBreaker: openaiBreaker,
 *   fallback: () => ({ messages: [new AIMessage("The assistant is busy, please retry.")] }),
 * }));
 */
export function resilient<F extends NodeBound>(
  node: F,
  options?: ResilientOptions<StateOf<F>, FallbackUpdateOf<F>, ConfigOf<F>>,
): WrappedWithFallback<F> {
  return resilientNode<StateOf<F>, FallbackUpdateOf<F>, ConfigOf<F>>(
    node as unknown as NodeFn<StateOf<F>, FallbackUpdateOf<F>, ConfigOf<F>>,
    options,
  ) as WrappedWithFallback<F>;
}

function resilientNode<S, U, C>(node: NodeFn<S, U, C>, options: ResilientOptions<S, U, C> = {}): WrappedNode<S, U, C> {
  assertFunction(node, "resilient(node)");
  checkOptions(options, RESILIENT_OPTIONS, "resilient(options)");
  // Validate everything before building anything, so a bad option never leaves a half-registered breaker behind.
  if (options.retry !== undefined) resolveRetryOptions(options.retry, "resilient(options).retry");
  if (options.timeout !== undefined) resolveTimeoutMs(options.timeout, "resilient(options).timeout");
  if (options.bulkhead !== undefined) resolveBulkheadOptions(options.bulkhead, "resilient(options).bulkhead");
  if (options.rateLimit !== undefined && typeof (options.rateLimit as RateLimiter).acquire !== "function") {
    resolveRateLimiterOptions({ name: node.name || "node", ...(options.rateLimit as object) }, "resilient(options).rateLimit");
  }
  if (options.idempotency !== undefined && options.idempotency !== true)
    resolveIdempotencyOptions(options.idempotency, "resilient(options).idempotency");

  let wrapped: NodeFn<S, U, C> = node;
  if (options.timeout !== undefined) wrapped = timeoutNode(wrapped, options.timeout);
  if (options.bulkhead !== undefined) wrapped = bulkheadNode(wrapped, options.bulkhead);
  if (options.rateLimit !== undefined) {
    wrapped = rateLimitNode(wrapped, toRateLimiter(options.rateLimit, node.name, "resilient(options).rateLimit"));
  }
  if (options.circuitBreaker !== undefined) {
    wrapped = breakerNode(wrapped, toBreaker(options.circuitBreaker, node.name, "resilient(options).circuitBreaker"));
  }
  if (options.retry !== undefined) wrapped = retryNode(wrapped, options.retry);
  if (options.idempotency !== undefined) wrapped = idempotentNode(wrapped, options.idempotency === true ? {} : options.idempotency);
  if (options.fallback !== undefined) wrapped = fallbackNode(wrapped, options.fallback);
  return wrapped as WrappedNode<S, U, C>;
}
