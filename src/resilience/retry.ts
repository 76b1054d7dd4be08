/**
 * Retry with backoff. The first attempt runs directly (no retry machinery on the happy path); after a first
 * retryable failure the remaining attempts run in p-retry's loop, with this module deciding, per failure, whether
 * and how long to wait: decorrelated jitter by default, the server's `Retry-After` when present, the `maxElapsedMs`
 * budget, and an abortable sleep so a cancelled run stops at once.
 */
import pRetry from "p-retry";
import type { RunnableConfig } from "@langchain/core/runnables";
import { isGraphBubbleUp } from "@langchain/langgraph";
import { type BackoffPolicy, type Jitter, backoffDelay } from "./backoff.js";
import { classifyError, markHandled } from "./classify.js";
import { systemClock } from "./clock.js";
import { CircuitOpenError, RateLimitedError, RetriesExhaustedError, toError } from "./errors.js";
import { assertFunction, checkOptions, type OptionSpec, rule } from "../core/options.js";
import { retryAfterFromHeaders } from "./retry-after.js";
import { isThenable } from "./thenable.js";
import type { Clock, NodeBound, NodeFn, NodeOf, Wrapped, WrappedNode } from "./types.js";
import { callNode, markWrapper, withDeadline } from "../core/node-context.js";
import { CHANNELS, hasSubscribers, labelsOf, publish } from "../core/events.js";

/** Options of `withRetry`. */
export interface RetryOptions {
  /** Additional attempts after the first. Default 3. */
  retries?: number;
  /** Smallest backoff delay in ms. Default 200. */
  minDelayMs?: number;
  /** Largest backoff delay in ms (does not cap a server's `Retry-After`). Default 30_000. */
  maxDelayMs?: number;
  /** Growth factor of the backoff. Default 2. */
  factor?: number;
  /** Randomisation of the backoff. Default "decorrelated". */
  jitter?: Jitter;
  /** Total time budget in ms, first attempt included; no retry is started that would end its wait past it. */
  maxElapsedMs?: number;
  /** Cap on a server-requested delay (`Retry-After`, `retry-after-ms`, `x-ratelimit-reset-*`). Default 60_000. */
  maxRetryAfterMs?: number;
  /** Whether to retry an error. Default `classifyError(e).retryable`. Control flow and aborts are never retried. */
  retryOn?: (error: Error) => boolean;
  /** Time source and sleeper. Default: `Date.now` and an abortable `setTimeout`. */
  clock?: Clock;
  /** Random source in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
}

/** @internal The accepted keys of {@link RetryOptions} and their rules: validation and the bad-input sweep read it. */
export const RETRY_OPTIONS = {
  retries: rule.integer(0, 1000),
  minDelayMs: rule.number(0),
  maxDelayMs: rule.number(0),
  factor: rule.number(1, 100),
  jitter: rule.oneOf("decorrelated", "full", "none"),
  maxElapsedMs: rule.number(0, undefined, { allowInfinity: true }),
  maxRetryAfterMs: rule.number(0),
  retryOn: rule.function(),
  clock: rule.methods("a Clock", "now", "sleep"),
  random: rule.function(),
} as const satisfies OptionSpec<keyof RetryOptions>;

/** A validated retry policy. */
export interface RetryPolicyResolved extends BackoffPolicy {
  retries: number;
  maxElapsedMs: number;
  maxRetryAfterMs: number;
  retryOn: (error: Error) => boolean;
  clock: Clock;
  random: () => number;
}

const defaultRetryOn = (error: Error): boolean => classifyError(error).retryable;

/** @internal Validates `withRetry` options and fills in defaults. */
export function resolveRetryOptions(options: unknown, where = "withRetry(options)"): RetryPolicyResolved {
  const o = checkOptions<RetryOptions>(options, RETRY_OPTIONS, where);
  const minDelayMs = o.minDelayMs ?? 200;
  const maxDelayMs = o.maxDelayMs ?? Math.max(30_000, minDelayMs);
  if (maxDelayMs < minDelayMs) throw new TypeError(`${where}.maxDelayMs (${maxDelayMs}) must be >= minDelayMs (${minDelayMs})`);
  return {
    retries: o.retries ?? 3,
    minDelayMs,
    maxDelayMs,
    factor: o.factor ?? 2,
    jitter: o.jitter ?? "decorrelated",
    maxElapsedMs: o.maxElapsedMs ?? Number.POSITIVE_INFINITY,
    maxRetryAfterMs: o.maxRetryAfterMs ?? 60_000,
    retryOn: o.retryOn ?? defaultRetryOn,
    clock: o.clock ?? systemClock,
    random: o.random ?? Math.random,
  };
}

/** @internal The outcome of looking at a failed attempt: wait `delayMs` and try again, or stop with `error`. */
export type RetryDecision = { retry: true; delayMs: number; serverDelay: boolean } | { retry: false; error: Error; exhausted: boolean };

/**
 * @internal Pure decision for a failed attempt, exported for property tests of the schedule (not part of the package API).
 * @param attempt the attempt that failed (1 = first)
 * @param elapsedMs time since the first attempt started
 * @param previousDelayMs the previous backoff delay (minDelayMs before the first retry)
 */
export function decideRetry(
  policy: RetryPolicyResolved,
  error: Error,
  attempt: number,
  elapsedMs: number,
  previousDelayMs: number,
  aborted: boolean,
): RetryDecision {
  if (aborted || isGraphBubbleUp(error)) return { retry: false, error, exhausted: false };
  let delayMs: number;
  let serverDelay = true;
  if (error instanceof CircuitOpenError) {
    // An open breaker is only worth waiting for when its half-open time fits the explicit budget.
    if (!Number.isFinite(policy.maxElapsedMs)) return { retry: false, error, exhausted: false };
    delayMs = Math.max(error.retryAfterMs, policy.minDelayMs);
  } else {
    if (!policy.retryOn(error)) return { retry: false, error, exhausted: false };
    // A rate limiter's refusal says when its capacity comes back; a server says it in headers.
    const asked = error instanceof RateLimitedError ? error.retryAfterMs : retryAfterFromHeaders(error, policy.clock.now());
    if (asked !== undefined) {
      delayMs = Math.min(asked, policy.maxRetryAfterMs);
    } else {
      delayMs = backoffDelay(policy, attempt, previousDelayMs, policy.random);
      serverDelay = false;
    }
  }
  if (attempt > policy.retries || elapsedMs + delayMs > policy.maxElapsedMs) {
    return { retry: false, error, exhausted: !(error instanceof CircuitOpenError) };
  }
  return { retry: true, delayMs: Math.round(delayMs), serverDelay };
}

class Stop extends Error {
  constructor(readonly thrown: Error) {
    super("stop");
  }
}

async function retryAfterFirstFailure<S, U, C>(
  node: NodeFn<S, U, C>,
  state: S,
  config: C,
  firstError: Error,
  policy: RetryPolicyResolved,
  startedAt: number,
): Promise<U> {
  const runConfig = config as RunnableConfig | undefined;
  const signal = runConfig?.signal;
  let attempt = 1;
  let previousDelayMs = policy.minDelayMs;

  // Waits before the next attempt, or throws the error the wrapper ends with.
  const prepareNext = async (error: Error): Promise<true> => {
    const decision = decideRetry(policy, error, attempt, policy.clock.now() - startedAt, previousDelayMs, signal?.aborted === true);
    if (!decision.retry) {
      if (decision.exhausted) {
        const exhausted = markHandled(new RetriesExhaustedError(attempt, error, classifyError(error).reason));
        if (hasSubscribers(CHANNELS.retriesExhausted)) {
          publish(CHANNELS.retriesExhausted, { ...labelsOf(runConfig), config: runConfig, attempts: attempt, error });
        }
        throw new Stop(exhausted);
      }
      throw new Stop(isGraphBubbleUp(error) ? error : markHandled(error));
    }
    if (!decision.serverDelay) previousDelayMs = decision.delayMs;
    if (hasSubscribers(CHANNELS.retry)) {
      publish(CHANNELS.retry, {
        ...labelsOf(runConfig),
        config: runConfig,
        attempt,
        delayMs: decision.delayMs,
        serverDelay: decision.serverDelay,
        reason: classifyError(error).reason,
        error,
      });
    }
    await policy.clock.sleep(decision.delayMs, signal);
    attempt += 1;
    return true;
  };

  try {
    await prepareNext(firstError);
    return await pRetry(
      async () => {
        try {
          // A fresh config object per attempt, so per-attempt bookkeeping (runOnce's call counter) starts over.
          return await callNode(node, state, (runConfig === undefined ? config : { ...runConfig }) as C);
        } catch (thrown) {
          throw toError(thrown);
        }
      },
      {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: 0,
        maxTimeout: 0,
        factor: 1,
        signal,
        shouldRetry: ({ error }) => prepareNext(error),
      },
    );
  } catch (error) {
    if (error instanceof Stop) throw error.thrown;
    // p-retry never retries a non-network TypeError and rethrows an abort reason as is.
    throw isGraphBubbleUp(error) ? error : markHandled(toError(error));
  }
}

/**
 * Retries a node on retryable errors with exponential backoff and jitter, honouring `Retry-After`.
 * Throws `RetriesExhaustedError` (cause: the last error) when attempts or `maxElapsedMs` run out, and rethrows
 * non-retryable errors unchanged. Interrupts and other LangGraph control flow pass straight through.
 * @example
 * builder.addNode("call_model", withRetry(callModel, { retries: 4, minDelayMs: 500, maxElapsedMs: 60_000 }));
 */
export function withRetry<F extends NodeBound>(node: F, options?: RetryOptions): Wrapped<F> {
  return retryNode(node as unknown as NodeOf<F>, options) as Wrapped<F>;
}

/** @internal `withRetry` over the generic node shape, for composing. */
export function retryNode<S, U, C>(node: NodeFn<S, U, C>, options?: RetryOptions): WrappedNode<S, U, C> {
  assertFunction(node, "withRetry(node)");
  const policy = resolveRetryOptions(options);
  const timed = Number.isFinite(policy.maxElapsedMs);
  // Not an async function: the first attempt's promise is passed on with one rejection handler, so the happy path
  // adds no promise or microtask of its own.
  const retryAfter = (thrown: unknown, state: S, config: C, startedAt: number): Promise<U> => {
    if (isGraphBubbleUp(thrown)) return Promise.reject(thrown);
    return retryAfterFirstFailure(node, state, config, toError(thrown), policy, timed ? startedAt : policy.clock.now());
  };
  return markWrapper(function retrying(state: S, given: C): Promise<U> {
    const startedAt = timed ? policy.clock.now() : 0;
    // With a time budget, the policies inside (a rate limiter's wait) learn where it ends.
    const config = timed ? withDeadline(given, Date.now() + policy.maxElapsedMs) : given;
    let first: U | Promise<U>;
    try {
      first = callNode(node, state, config);
    } catch (thrown) {
      return retryAfter(thrown, state, config, startedAt);
    }
    if (isThenable(first)) return Promise.resolve(first).then(undefined, (thrown: unknown) => retryAfter(thrown, state, config, startedAt));
    return Promise.resolve(first);
  });
}
