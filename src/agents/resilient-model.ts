/**
 * `resilientModel(model, options)`: a chat model whose provider calls go through the kit's policies, for agents
 * whose model node you do not write (`createReactAgent({ llm })`, `createAgent({ model })`).
 *
 * The kit's retry replaces the client's: every provider request is sent with the call option `maxRetries: 0`,
 * which LangChain's `AsyncCaller` honours per call (ChatOpenAI and ChatAnthropic already set their SDK's own retries
 * to 0), so `retry: { retries: 2 }` means at most 3 requests whatever the client's `maxRetries` is.
 */
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { checkOptions, checkValue, type OptionSpec } from "../core/options.js";
import type { RetryOptions } from "../resilience/retry.js";
import {
  CALL_POLICY_OPTIONS,
  CHAT_MODEL,
  type CallPolicy,
  type CallPolicyOptions,
  FALLBACK_MODELS,
  breakerOf,
  buildCallPolicy,
  checkCallPolicy,
  rateLimiterOf,
  runWithFallbacks,
} from "./call-policy.js";
import { type CallOptions, type ChatModelLike, type ModelInterceptor, wrapChatModel } from "./model-wrapper.js";

/** Options of {@link resilientModel}. */
export interface ResilientModelOptions extends CallPolicyOptions {
  /**
   * Retry policy. Default: the kit's retry defaults (3 retries), since the client's own retries are switched off;
   * `{ retries: 0 }` sends one request per call.
   */
  retry?: RetryOptions;
  /** Models tried in order, one request each, when the wrapped model's call fails for good (e.g. another provider). */
  fallback?: BaseChatModel[];
}

/** @internal The accepted keys of {@link ResilientModelOptions}: validation and the bad-input sweep read it. */
export const RESILIENT_MODEL_OPTIONS = {
  ...CALL_POLICY_OPTIONS,
  fallback: FALLBACK_MODELS,
} as const satisfies OptionSpec<keyof ResilientModelOptions>;

const WHERE = "resilientModel(options)";

/** Options that switch a model's own retries off for one call. */
export const NO_CLIENT_RETRIES = { maxRetries: 0 } as const;

/** The breaker's default name: the provider (`_llmType()`), one breaker per dependency. */
function providerOf(model: ChatModelLike): string {
  const llmType = (model as unknown as { _llmType?: () => unknown })._llmType;
  const name = typeof llmType === "function" ? llmType.call(model) : undefined;
  return typeof name === "string" && name !== "" ? name : "chat_model";
}

function interceptorOf(policy: CallPolicy, fallbacks: readonly ChatModelLike[]): ModelInterceptor {
  return {
    fallbacks,
    withFallbacks: (next) => interceptorOf(policy, next),
    call<T>(
      options: CallOptions,
      primary: (extra: CallOptions) => Promise<T>,
      fallback: (index: number) => (extra: CallOptions) => Promise<T>,
      input?: unknown,
    ) {
      // The attempt's signal aborts at its deadline and when the run is cancelled; the caller's signal is kept too,
      // because a stream outlives its attempt (an attempt ends at the first chunk).
      const extraFor = (attemptSignal: AbortSignal | undefined): CallOptions => ({
        ...NO_CLIENT_RETRIES,
        signal: anySignal(options.signal, attemptSignal),
      });
      return runWithFallbacks(
        policy,
        options,
        (attempt) => primary(extraFor(attempt.signal)),
        fallbacks.map((_, i) => (attempt) => fallback(i)(extraFor(attempt.signal))),
        input,
      );
    },
  };
}

/** @internal Both signals in one (either aborts it); undefined when there are none. */
export function anySignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a === undefined || a === b) return b;
  if (b === undefined) return a;
  return AbortSignal.any([a, b]);
}

/**
 * Wraps a chat model so its calls get a per-attempt timeout (the HTTP request is aborted), the kit's retry
 * (classification, backoff, `Retry-After`; it replaces the client's retries), a circuit breaker (named after the
 * provider unless named, shared by every model derived from this one with `bindTools`/`withConfig`, or pass a breaker
 * from `createCircuitBreaker` to share it wider), a rate limiter (`rateLimit`: tokens estimated from the messages,
 * settled from the answer's `usage_metadata`; a streamed answer keeps its estimate) and ordered fallback models. Returns the same model type:
 * `bindTools`, `withStructuredOutput`, `stream` and `createReactAgent({ llm })` keep working.
 *
 * Streaming: an attempt ends at the first chunk. A failure before it is retried (and may fall back); a failure after
 * it is not, because the caller has output already; the timeout bounds the wait for the first chunk of `stream()`,
 * and the whole call for `invoke()`. Retry, timeout, breaker and fallback events are published with the `graph` and
 * `node` labels of the run the model is called in.
 * @example
 * const llm = resilientModel(new ChatOpenAI({ model: "gpt-4o-mini" }), {
 *   timeout: 30_000,
 *   retry: { retries: 2 },
 *   circuitBreaker: { name: "openai", resetTimeout: 15_000 },
 *   fallback: [new ChatAnthropic({ model: "claude-sonnet-4-5" })],
 * });
 * const agent = createReactAgent({ llm, tools });
 */
export function resilientModel<M extends BaseChatModel>(model: M, options: ResilientModelOptions = {}): M {
  checkValue(model, CHAT_MODEL, "resilientModel(model)");
  checkOptions(options, RESILIENT_MODEL_OPTIONS, WHERE);
  checkCallPolicy(options, WHERE);
  const fallbacks = options.fallback ?? [];
  const breaker = breakerOf(options.circuitBreaker, providerOf(model), `${WHERE}.circuitBreaker`);
  const rateLimiter = rateLimiterOf(options.rateLimit, providerOf(model), `${WHERE}.rateLimit`);
  const policy = buildCallPolicy(options, { retry: {}, breaker, rateLimiter });
  return wrapChatModel(
    model,
    interceptorOf(policy, fallbacks as unknown as ChatModelLike[]),
    BaseChatModel.prototype as unknown as ChatModelLike,
  );
}
