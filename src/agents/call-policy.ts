/**
 * The policies a model or tool call goes through when the kit does not own the node: per-attempt timeout, retry
 * and circuit breaker from src/resilience (composed by `resilient()`, so the order, classification, backoff,
 * `Retry-After` handling and events are the node wrappers' own), then an ordered list of fallbacks.
 *
 * A call is not a node, so the chain is built once over a trampoline node whose "state" is the attempt to make: one
 * set of deadline timers and one breaker per policy, whatever the number of calls. The config handed to the chain
 * is the run config of the node the call happens in, so every event carries that node's `graph` and `node` labels.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { isGraphBubbleUp } from "@langchain/langgraph";
import { BREAKER_OR_OPTIONS, type CircuitBreaker, type CircuitBreakerOptions, toBreaker } from "../resilience/circuit-breaker.js";
import { classifyError, markHandled } from "../resilience/classify.js";
import { resilient } from "../resilience/compose.js";
import { toError } from "../resilience/errors.js";
import type { IdempotencyBaseOptions } from "../resilience/idempotency.js";
import { type OptionSpec, rule } from "../core/options.js";
import {
  RATE_LIMITER_OR_OPTIONS,
  type RateLimiter,
  type RateLimiterOptions,
  limiterFor,
  resolveRateLimiterOptions,
  toRateLimiter,
} from "../resilience/rate-limit.js";
import { RETRY_OPTIONS, type RetryOptions, resolveRetryOptions } from "../resilience/retry.js";
import { TIMEOUT_ARGUMENT, type TimeoutOptions } from "../resilience/timeout.js";
import { markWrapper } from "../core/node-context.js";
import { CHANNELS, hasSubscribers, labelsOf, publish } from "../core/events.js";

/** Breaker options whose `name` may be left out (a default name is derived from the model or tool). */
export type CallBreakerOptions = Omit<CircuitBreakerOptions, "name"> & { name?: string };

/** The policies shared by model and tool calls. */
export interface CallPolicyOptions {
  /** Deadline of one attempt in ms; the attempt's abort signal (and so its HTTP request) is aborted at the deadline. */
  timeout?: number | TimeoutOptions;
  /** Retry with the kit's classification and backoff (`Retry-After` honoured). */
  retry?: RetryOptions;
  /** A shared breaker, or options for one (named after the provider, `"model"` or `tool:<name>` when unnamed). */
  circuitBreaker?: CircuitBreaker | CallBreakerOptions;
  /**
   * A shared rate limiter, or options for one (named like the breaker when unnamed). Each provider request waits for
   * capacity; its tokens are estimated from the messages and settled from the answer's `usage_metadata`; a 429 blocks
   * the limiter until the provider's reset.
   */
  rateLimit?: RateLimiter | CallRateLimitOptions;
}

/** Rate limiter options whose `name` may be left out. */
export type CallRateLimitOptions = Omit<RateLimiterOptions, "name"> & { name?: string };

/** @internal The accepted keys of {@link CallPolicyOptions}, the same rules as `resilient()`'s: validation and the sweep read it. */
export const CALL_POLICY_OPTIONS = {
  timeout: { ...TIMEOUT_ARGUMENT, required: false },
  retry: rule.options(RETRY_OPTIONS),
  // Unnamed breaker options take the provider's or the tool's name.
  circuitBreaker: BREAKER_OR_OPTIONS,
  rateLimit: RATE_LIMITER_OR_OPTIONS,
} as const satisfies OptionSpec<keyof CallPolicyOptions>;

/** @internal A chat model the kit can wrap (what `resilientModel` and the fallback lists take). */
export const CHAT_MODEL = rule.methods("a LangChain chat model", "generate", "_streamIterator", "withConfig");

/** @internal `fallback`: chat models tried in order. */
export const FALLBACK_MODELS = rule.arrayOf(CHAT_MODEL);

/** @internal One attempt: gets the attempt's config (its `signal` aborts at the attempt's deadline). */
export type AttemptFn<T> = (attemptConfig: RunnableConfig) => Promise<T>;

/** @internal Runs attempts of a call through the policies. */
export interface CallPolicy {
  /**
   * Runs `attempt` under timeout, retry and breaker, with `config` as the node's run config; with idempotency
   * configured, `key` names the call (its recorded result is replayed for the same key).
   */
  run<T>(config: RunnableConfig | undefined, attempt: AttemptFn<T>, key?: string, input?: unknown): Promise<T>;
  /** Runs one attempt under the timeout only (fallbacks get one attempt each). */
  once<T>(config: RunnableConfig | undefined, attempt: AttemptFn<T>): Promise<T>;
  /** The breaker, when one is configured. */
  readonly breaker: CircuitBreaker | undefined;
}

const PARTIAL = Symbol.for("langgraph-ops.partial-output");

/**
 * @internal Marks an error raised after part of the output (a streamed chunk) already reached the caller: such a
 * call is neither retried nor replaced by a fallback, which would repeat or mix output.
 */
export function markPartial(error: unknown): Error {
  const e = toError(error);
  (e as unknown as Record<symbol, boolean>)[PARTIAL] = true;
  return e;
}

/** @internal Whether `error` (or an error it wraps, e.g. an agent's `MiddlewareError`) came after partial output. */
export function isPartial(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    if ((current as Record<symbol, unknown>)[PARTIAL] === true) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * @internal The checks across keys that a spec cannot state (`maxDelayMs >= minDelayMs`), for options already
 * checked against {@link CALL_POLICY_OPTIONS}.
 */
export function checkCallPolicy(options: CallPolicyOptions, where: string): void {
  if (options.retry !== undefined) resolveRetryOptions(options.retry, `${where}.retry`);
  const limit = options.rateLimit;
  if (limit !== undefined && typeof (limit as RateLimiter).acquire !== "function") {
    resolveRateLimiterOptions({ name: "model", ...limit }, `${where}.rateLimit`);
  }
}

/** @internal Resolves `rateLimit` into a limiter named `defaultName` when the options carry no name. */
export function rateLimiterOf(value: RateLimiter | CallRateLimitOptions | undefined, defaultName: string, where: string) {
  return value === undefined ? undefined : toRateLimiter(value, defaultName, where);
}

/** What the trampoline node gets as its "state": the attempt to make and the call's idempotency key. */
interface Call {
  attempt: AttemptFn<unknown>;
  key: string | undefined;
  /** The call's input (its messages), for the rate limiter's token estimate. */
  input?: unknown;
}

// A kit wrapper (markWrapper): the policies do not open a node attempt span for it; the call's own LangChain run
// (a chat model or tool run) is what each attempt shows up as.
const trampoline = markWrapper((call: Call, config: RunnableConfig) => call.attempt(config ?? {}));

const keyOfCall = (call: Call): string => {
  if (call.key === undefined) throw new TypeError("idempotency needs a key for this call");
  return call.key;
};

/**
 * @internal Builds the policy chain. `retry` defaults to `defaultRetry` (undefined: no retry); `breaker` is the
 * resolved breaker (or none). Partial-output errors are never retried.
 */
export function buildCallPolicy(
  options: CallPolicyOptions,
  defaults: {
    retry: RetryOptions | undefined;
    breaker: CircuitBreaker | undefined;
    idempotency?: IdempotencyBaseOptions;
    rateLimiter?: RateLimiter | undefined;
  },
): CallPolicy {
  const retry = options.retry ?? defaults.retry;
  let retryOptions: RetryOptions | undefined;
  if (retry !== undefined) {
    const base = resolveRetryOptions(retry, "retry").retryOn;
    retryOptions = { ...retry, retryOn: (error: Error) => !isPartial(error) && base(error) };
  }
  const breaker = defaults.breaker;
  const full = resilient(trampoline, {
    ...(defaults.idempotency !== undefined ? { idempotency: { ...defaults.idempotency, key: keyOfCall } } : {}),
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    ...(retryOptions !== undefined ? { retry: retryOptions } : {}),
    ...(breaker !== undefined ? { circuitBreaker: breaker } : {}),
    ...(defaults.rateLimiter !== undefined ? { rateLimit: limiterFor(defaults.rateLimiter, (call: Call) => call.input) } : {}),
  });
  const single = options.timeout === undefined ? undefined : resilient(trampoline, { timeout: options.timeout });
  return {
    breaker,
    run: <T>(config: RunnableConfig | undefined, attempt: AttemptFn<T>, key?: string, input?: unknown) =>
      full({ attempt: attempt as AttemptFn<unknown>, key, input }, (config ?? {}) as RunnableConfig) as Promise<T>,
    once: <T>(config: RunnableConfig | undefined, attempt: AttemptFn<T>) =>
      single === undefined
        ? attempt(config ?? {})
        : (single({ attempt: attempt as AttemptFn<unknown>, key: undefined }, (config ?? {}) as RunnableConfig) as Promise<T>),
  };
}

/** @internal Resolves `circuitBreaker` into a breaker named `defaultName` when the options carry no name. */
export function breakerOf(value: CircuitBreaker | CallBreakerOptions | undefined, defaultName: string, where: string) {
  return value === undefined ? undefined : toBreaker(value, defaultName, where);
}

/** @internal Whether a failed call may be handed to a fallback: a real failure of a run that is still going. */
export function mayFallBack(error: unknown, config: RunnableConfig | undefined): boolean {
  if (isGraphBubbleUp(error) || isPartial(error)) return false;
  if (config?.signal?.aborted === true) return false;
  return classifyError(error).reason !== "aborted";
}

/**
 * @internal Runs `primary` through `policy`; when it fails for real, tries each fallback in order (one attempt each
 * under the timeout), publishing a fallback event per fallback tried. Throws the last error, marked handled so
 * LangGraph's own `RetryPolicy` does not start the whole sequence again.
 */
export async function runWithFallbacks<T>(
  policy: CallPolicy,
  config: RunnableConfig | undefined,
  primary: AttemptFn<T>,
  fallbacks: readonly AttemptFn<T>[],
  input?: unknown,
): Promise<T> {
  if (fallbacks.length === 0) return policy.run(config, primary, undefined, input);
  let error: unknown;
  try {
    return await policy.run(config, primary, undefined, input);
  } catch (thrown) {
    error = thrown;
  }
  for (const fallback of fallbacks) {
    if (!mayFallBack(error, config)) throw error;
    if (hasSubscribers(CHANNELS.fallback)) publish(CHANNELS.fallback, { ...labelsOf(config), config, error: toError(error) });
    try {
      return await policy.once(config, fallback);
    } catch (thrown) {
      error = isGraphBubbleUp(thrown) ? thrown : markHandled(toError(thrown));
    }
  }
  throw error;
}
