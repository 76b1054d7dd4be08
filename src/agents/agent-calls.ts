/**
 * The hooks behind `resilienceMiddleware`: what happens to one model call and one tool call of a `createAgent`
 * agent. Kept free of the `langchain` package so the main entry can build on it; `langgraph-ops/langchain` only
 * wraps these hooks with `createMiddleware`.
 *
 * The hooks run inside the agent's model or tools node, so the node's run config (LangGraph's `getConfig()`) is the
 * config the policies see: their events carry that node's `graph`/`node` labels (and the tool's name for tool calls),
 * and an idempotent tool call is keyed by the run's thread.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { getConfig, isGraphBubbleUp } from "@langchain/langgraph";
import { checkOptions, type OptionSpec, rule } from "../core/options.js";
import { type CircuitBreaker, toBreaker, validateBreakerOptions } from "../resilience/circuit-breaker.js";
import { classifyError } from "../resilience/classify.js";
import type { IdempotencyStore } from "../resilience/idempotency-store.js";
import { RUN_ONCE_OPTIONS } from "../resilience/idempotency.js";
import { TOOL_NAME_METADATA_KEY } from "../core/events.js";
import { modelForAttempt } from "./attempt-model.js";
import {
  CALL_POLICY_OPTIONS,
  type CallBreakerOptions,
  type CallPolicy,
  type CallPolicyOptions,
  FALLBACK_MODELS,
  breakerOf,
  buildCallPolicy,
  checkCallPolicy,
  rateLimiterOf,
  runWithFallbacks,
} from "./call-policy.js";
import {
  FAILURE_METADATA_KEY,
  MODEL_FAILURE_MESSAGE,
  ON_FAILURE_VALUES,
  type OnFailure,
  TOOL_FAILURE_MESSAGE,
} from "./failure-messages.js";
import { anySignal } from "./resilient-model.js";

/** A tool call as the agent's model produced it. */
export interface AgentToolCall {
  id?: string;
  name: string;
  args: Record<string, unknown>;
}

/** Policies for the agent's model calls. */
export interface AgentModelOptions extends CallPolicyOptions {
  /** Models tried in order, one attempt each under the timeout, when the model call fails for good. */
  fallback?: BaseChatModel[];
}

/** @internal The accepted keys of {@link AgentModelOptions}: validation and the bad-input sweep read it. */
export const AGENT_MODEL_OPTIONS = {
  ...CALL_POLICY_OPTIONS,
  fallback: FALLBACK_MODELS,
} as const satisfies OptionSpec<keyof AgentModelOptions>;

/** Policies for the agent's tool calls (each tool gets its own breaker unless a shared one is passed). */
export interface AgentToolOptions extends CallPolicyOptions {
  /**
   * Record each tool call's result and replay it for the same call: `true` keys by thread and tool call id, a
   * function returns the key (e.g. from the arguments). The tool then runs once per call across retries, interrupts,
   * resumes and a restart of the process (with a shared store and a persistent checkpointer).
   */
  idempotent?: boolean | ((call: AgentToolCall) => string);
  /** Store of the recorded results. Default: the process default (`setDefaultIdempotencyStore`). */
  store?: IdempotencyStore;
  /** How long a recorded result is replayed, in ms. Default 24 h. */
  ttlMs?: number;
  /** How long a running call holds its claim before another process may take over, in ms. Default 5 min. */
  leaseMs?: number;
  /** How long a duplicate waits for the running call's result, in ms. Default 30 s. */
  waitMs?: number;
}

/** @internal The accepted keys of {@link AgentToolOptions} (the idempotency ones are `runOnce`'s): validation and the sweep read it. */
export const AGENT_TOOL_OPTIONS = {
  ...CALL_POLICY_OPTIONS,
  idempotent: rule.union(rule.boolean(), rule.function()),
  store: RUN_ONCE_OPTIONS.store,
  ttlMs: RUN_ONCE_OPTIONS.ttlMs,
  leaseMs: RUN_ONCE_OPTIONS.leaseMs,
  waitMs: RUN_ONCE_OPTIONS.waitMs,
} as const satisfies OptionSpec<keyof AgentToolOptions>;

/** Options of `resilienceMiddleware`. */
export interface ResilienceMiddlewareOptions {
  /** Timeout, retry (default: the kit's defaults, replacing the client's retries), breaker and fallback models. */
  model?: AgentModelOptions;
  /** Timeout, retry (default: none), breaker per tool and idempotency. */
  tools?: AgentToolOptions;
  /**
   * A call that failed for good: `"error"` (default) fails the run; `"message"` answers with a fixed message that
   * does not contain the error text (its type and reason are in the message's metadata).
   */
  onFailure?: OnFailure;
}

/** @internal The accepted keys of {@link ResilienceMiddlewareOptions}: validation and the bad-input sweep read it. */
export const RESILIENCE_MIDDLEWARE_OPTIONS = {
  model: rule.options(AGENT_MODEL_OPTIONS),
  tools: rule.options(AGENT_TOOL_OPTIONS),
  onFailure: rule.oneOf(...ON_FAILURE_VALUES),
} as const satisfies OptionSpec<keyof ResilienceMiddlewareOptions>;

const WHERE = "resilienceMiddleware(options)";
const DEFAULT_MODEL_BREAKER = "model";
const DEFAULT_TOOL_BREAKER_PREFIX = "tool";

/** The model request fields the hooks touch. */
export interface ModelRequestLike {
  model: unknown;
  [key: string]: unknown;
}

/** The tool request fields the hooks touch. */
export interface ToolRequestLike {
  toolCall: AgentToolCall;
  tool?: unknown;
  runtime?: { configurable?: Record<string, unknown>; signal?: AbortSignal };
  [key: string]: unknown;
}

/** @internal The two hooks. */
export interface AgentHooks {
  wrapModelCall(request: ModelRequestLike, handler: (request: ModelRequestLike) => Promise<unknown>): Promise<unknown>;
  wrapToolCall(request: ToolRequestLike, handler: (request: ToolRequestLike) => Promise<unknown>): Promise<unknown>;
}

/** The config of the node the hook runs in; the runtime's fields when LangGraph's context is not available. */
function nodeConfig(runtime: ToolRequestLike["runtime"] | undefined): RunnableConfig {
  try {
    const config = getConfig();
    if (config !== undefined) return config;
  } catch {
    // Outside a LangGraph run context.
  }
  return { configurable: runtime?.configurable, signal: runtime?.signal } as RunnableConfig;
}

function failureMetadata(error: unknown): Record<string, string> {
  const name = error instanceof Error ? error.name : "Error";
  return { error_type: name, reason: classifyError(error).reason };
}

/** Whether a failure is the run's own end (control flow, cancellation), which no failure message may hide. */
function mustPropagate(error: unknown, config: RunnableConfig): boolean {
  return isGraphBubbleUp(error) || config.signal?.aborted === true;
}

/** A tool that invokes `tool` with the attempt's signal joined to the run's. */
function toolForAttempt(tool: unknown, signal: AbortSignal | undefined): unknown {
  if (signal === undefined || typeof (tool as { invoke?: unknown } | null)?.invoke !== "function") return tool;
  const original = tool as { invoke: (input: unknown, config?: Record<string, unknown>) => Promise<unknown> };
  const proxy = Object.create(original) as typeof original;
  Object.defineProperty(proxy, "invoke", {
    value: function invoke(this: unknown, input: unknown, config?: Record<string, unknown>) {
      return original.invoke.call(this, input, { ...config, signal: anySignal(config?.signal as AbortSignal | undefined, signal) });
    },
    enumerable: false,
  });
  return proxy;
}

/**
 * Checks across keys that the specs cannot state. The tools' breakers are created on each tool's first call, so
 * their options get the checks a breaker's construction makes (`rollingCountBuckets` divides `rollingCountTimeout`) now.
 */
function checkAcrossKeys(options: ResilienceMiddlewareOptions): void {
  if (options.model !== undefined) checkCallPolicy(options.model, `${WHERE}.model`);
  if (options.tools === undefined) return;
  checkCallPolicy(options.tools, `${WHERE}.tools`);
  const b = options.tools.circuitBreaker;
  if (b !== undefined && typeof (b as CircuitBreaker).execute !== "function") {
    validateBreakerOptions({ name: DEFAULT_TOOL_BREAKER_PREFIX, ...(b as object) }, `${WHERE}.tools.circuitBreaker`);
  }
}

/** Per-tool policies, created on a tool's first call (the agent's tools are not known to the middleware up front). */
function toolPolicies(options: AgentToolOptions): (tool: string) => CallPolicy {
  const shared = options.circuitBreaker !== undefined && typeof (options.circuitBreaker as CircuitBreaker).execute === "function";
  const idempotency =
    options.idempotent === undefined || options.idempotent === false
      ? undefined
      : {
          ...(options.store !== undefined ? { store: options.store } : {}),
          ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
          ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
          ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
        };
  // One limiter for every tool call (the budget of a shared downstream API), named "tools" unless named.
  const rateLimiter = rateLimiterOf(options.rateLimit, "tools", `${WHERE}.tools.rateLimit`);
  const sharedPolicy = shared
    ? buildCallPolicy(options, { retry: undefined, breaker: options.circuitBreaker as CircuitBreaker, idempotency, rateLimiter })
    : undefined;
  const byTool = new Map<string, CallPolicy>();
  return (tool) => {
    if (sharedPolicy !== undefined) return sharedPolicy;
    let policy = byTool.get(tool);
    if (policy === undefined) {
      const given = options.circuitBreaker as CallBreakerOptions | undefined;
      const breaker =
        given === undefined
          ? undefined
          : toBreaker({ ...given, name: `${given.name ?? DEFAULT_TOOL_BREAKER_PREFIX}:${tool}` }, tool, `${WHERE}.tools.circuitBreaker`);
      policy = buildCallPolicy(options, { retry: undefined, breaker, idempotency, rateLimiter });
      byTool.set(tool, policy);
    }
    return policy;
  };
}

/** The idempotency key of a tool call: the user's, or thread + tool call id. */
function toolCallKey(options: AgentToolOptions, call: AgentToolCall, config: RunnableConfig): string | undefined {
  if (options.idempotent === undefined || options.idempotent === false) return undefined;
  if (typeof options.idempotent === "function") {
    const key = options.idempotent(call);
    if (typeof key !== "string" || key === "") throw new TypeError(`${WHERE}.tools.idempotent must return a non-empty string`);
    return `tool:${call.name}:${key}`;
  }
  const thread = (config.configurable as Record<string, unknown> | undefined)?.thread_id;
  if ((typeof thread !== "string" && typeof thread !== "number") || typeof call.id !== "string" || call.id === "") {
    throw new TypeError(
      "idempotent tool calls need a thread and a tool call id: invoke the agent with { configurable: { thread_id } } " +
        `(and a checkpointer), or pass a key function as ${WHERE}.tools.idempotent`,
    );
  }
  return `tool:${String(thread)}:${call.name}:${call.id}`;
}

/** @internal Validates `options` and builds the hooks. */
export function agentHooks(options: ResilienceMiddlewareOptions = {}): AgentHooks {
  checkOptions(options, RESILIENCE_MIDDLEWARE_OPTIONS, WHERE);
  checkAcrossKeys(options);
  const onFailure = options.onFailure ?? "error";
  const modelOptions = options.model ?? {};
  const toolOptions = options.tools ?? {};
  const modelPolicy = buildCallPolicy(modelOptions, {
    retry: {},
    breaker: breakerOf(modelOptions.circuitBreaker, DEFAULT_MODEL_BREAKER, `${WHERE}.model.circuitBreaker`),
    rateLimiter: rateLimiterOf(modelOptions.rateLimit, DEFAULT_MODEL_BREAKER, `${WHERE}.model.rateLimit`),
  });
  const fallbacks = modelOptions.fallback ?? [];
  const policyOfTool = toolPolicies(toolOptions);

  return {
    async wrapModelCall(request, handler) {
      const config = nodeConfig(request.runtime as ToolRequestLike["runtime"]);
      const attemptWith = (model: unknown) => (attempt: RunnableConfig) =>
        handler({ ...request, model: modelForAttempt(model as object, attempt.signal) });
      try {
        return await runWithFallbacks(modelPolicy, config, attemptWith(request.model), fallbacks.map(attemptWith), request.messages);
      } catch (error) {
        if (onFailure === "error" || mustPropagate(error, config)) throw error;
        return new AIMessage({ content: MODEL_FAILURE_MESSAGE, response_metadata: { [FAILURE_METADATA_KEY]: failureMetadata(error) } });
      }
    },

    async wrapToolCall(request, handler) {
      const base = nodeConfig(request.runtime);
      const call = request.toolCall;
      const config = { ...base, metadata: { ...base.metadata, [TOOL_NAME_METADATA_KEY]: call.name } } as RunnableConfig;
      try {
        const key = toolCallKey(toolOptions, call, config);
        return await policyOfTool(call.name).run(
          config,
          (attempt) => handler({ ...request, tool: toolForAttempt(request.tool, attempt.signal) }),
          key,
        );
      } catch (error) {
        if (onFailure === "error" || mustPropagate(error, config)) throw error;
        return new ToolMessage({
          content: TOOL_FAILURE_MESSAGE,
          tool_call_id: call.id ?? "",
          name: call.name,
          status: "error",
          metadata: { [FAILURE_METADATA_KEY]: failureMetadata(error) },
        });
      }
    },
  };
}
