/**
 * A chat model whose provider calls go through an interceptor, while it stays the same model: the wrapper is an
 * object whose prototype is the model instance, so `instanceof`, every field, `bindTools`, `withStructuredOutput`,
 * profiles and serialisation are the model's own. It overrides only the entry points that start a provider call:
 * - `generate` (which `invoke`, `batch` and LangGraph's streaming-handler path all go through),
 * - `_streamIterator` (`stream`, `streamEvents` v1/v2), with the first chunk as the end of an attempt,
 * - `withConfig` and `bindTools`, so that derived models are wrapped too. `ChatOpenAI.withConfig` returns a new
 *   `ChatOpenAI`, not a binding over `this`: without this the tools bound by an agent would bypass the wrapper.
 * `_streamResponseChunks` / `_streamChatModelEvents` are passed through with a marker that records whether a chunk
 * of the current attempt already reached the caller.
 */
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import type { RunnableConfig } from "@langchain/core/runnables";
import { markPartial } from "./call-policy.js";

/** Call options as LangChain passes them around: a run config plus provider call options. */
export type CallOptions = RunnableConfig & Record<string | symbol, unknown>;

/** The part of a chat model the wrapper relies on. */
export interface ChatModelLike {
  generate(messages: unknown, options?: unknown, callbacks?: unknown): Promise<LLMResult>;
  invoke(input: unknown, options?: unknown): Promise<unknown>;
  stream(input: unknown, options?: unknown): Promise<AsyncIterable<unknown>>;
  withConfig(config: Record<string, unknown>): unknown;
  bindTools?(tools: unknown[], kwargs?: Record<string, unknown>): unknown;
  _generate(...args: unknown[]): unknown;
  _streamIterator(input: unknown, options?: unknown): AsyncGenerator<unknown>;
  _streamResponseChunks(...args: unknown[]): AsyncGenerator<unknown>;
}

/** One provider call made by the wrapper: `call(extra)` sends it with `extra` merged into the call options. */
export type ProviderCall<T> = (extra: CallOptions) => Promise<T>;

/** What a wrapped model does with each logical call. */
export interface ModelInterceptor {
  /**
   * Makes the logical call described by `options`: `primary` calls the wrapped model, `fallback(i)` the i-th model
   * of `fallbacks` (each takes the options to send). Resolves with one of their results.
   */
  call<T>(options: CallOptions, primary: ProviderCall<T>, fallback: (index: number) => ProviderCall<T>, input?: unknown): Promise<T>;
  /** Models tried after the wrapped one; the wrapper invokes them as they are. */
  readonly fallbacks: readonly ChatModelLike[];
  /** The same interceptor with other fallback models (the wrapped model's tools bound to them). */
  withFallbacks(fallbacks: readonly ChatModelLike[]): ModelInterceptor;
}

const WRAPPED = Symbol.for("langgraph-ops.wrapped-model");
/** @internal Call option under which an attempt's chunk tracker travels to the model's streaming methods. */
export const ATTEMPT_TRACKER = Symbol.for("langgraph-ops.attempt-tracker");

/** Whether a chunk of the attempt reached the caller. */
export interface AttemptTracker {
  streamed: boolean;
}

const CONFIG_KEYS = ["callbacks", "tags", "metadata", "runName", "configurable", "recursionLimit", "maxConcurrency", "signal"] as const;

/** The run-config part of call options: what a fallback model gets (its own call options are its binding's). */
function runConfigOf(options: CallOptions): CallOptions {
  const out: CallOptions = {};
  for (const key of CONFIG_KEYS) if (options[key] !== undefined) (out as Record<string, unknown>)[key] = options[key];
  return out;
}

/** @internal Whether `value` is a model wrapped by this module. */
export function isWrappedModel(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.hasOwn(value, WRAPPED);
}

function isChatModel(value: unknown): value is ChatModelLike {
  const m = value as Partial<ChatModelLike> | null;
  return typeof m === "object" && m !== null && typeof m._generate === "function" && typeof m.generate === "function";
}

function streams(model: ChatModelLike, base: ChatModelLike): boolean {
  const disabled = (model as unknown as { disableStreaming?: boolean }).disableStreaming === true;
  return !disabled && model._streamResponseChunks !== base._streamResponseChunks;
}

function trackerOf(options: unknown): AttemptTracker | undefined {
  return (options as Record<symbol, AttemptTracker | undefined> | undefined)?.[ATTEMPT_TRACKER];
}

/** Calls `attempt`, marking its error partial when a chunk of it reached the caller. */
async function tracked<T>(options: CallOptions, attempt: (options: CallOptions) => Promise<T>): Promise<T> {
  const tracker: AttemptTracker = { streamed: false };
  try {
    return await attempt({ ...options, [ATTEMPT_TRACKER]: tracker });
  } catch (error) {
    throw tracker.streamed ? markPartial(error) : error;
  }
}

interface OpenedStream {
  first: IteratorResult<unknown>;
  rest: AsyncIterator<unknown>;
}

async function open(iterable: AsyncIterable<unknown>): Promise<OpenedStream> {
  const rest = iterable[Symbol.asyncIterator]();
  return { first: await rest.next(), rest };
}

/** Provider hooks that only produce output (never a derived model), run with the model itself as `this`. */
const LEAF_HOOKS = ["_generate", "_llmType", "invocationParams", "getLsParams", "_identifyingParams", "_combineLLMOutput"] as const;

function define(target: object, key: string | symbol, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}

/**
 * @internal Wraps `model` so that each logical call goes through `interceptor`. `base` is the model whose
 * `_streamResponseChunks` means "cannot stream" (LangChain's `BaseChatModel.prototype`).
 */
export function wrapChatModel<M extends object>(model: M, interceptor: ModelInterceptor, base: ChatModelLike): M {
  const inner = model as unknown as ChatModelLike;
  const wrapper = Object.create(inner) as ChatModelLike;
  define(wrapper, WRAPPED, interceptor);
  const canStream = streams(inner, base);
  // The provider's own hooks run on the model itself: a class that keeps JS private fields (`#client`) can only
  // read them with the instance as `this`, and the prototype-based wrapper is not that instance.
  for (const name of LEAF_HOOKS) {
    const hook = (inner as unknown as Record<string, unknown>)[name];
    if (typeof hook === "function") define(wrapper, name, (...args: unknown[]) => hook.apply(inner, args));
  }

  define(wrapper, "generate", function generate(this: ChatModelLike, messages: BaseMessage[][], options?: unknown, callbacks?: unknown) {
    const parsed = (Array.isArray(options) ? { stop: options } : (options ?? {})) as CallOptions;
    return interceptor.call<LLMResult>(
      parsed,
      (extra) => tracked({ ...parsed, ...extra }, (o) => inner.generate.call(this, messages, o, callbacks)),
      (index) => async (extra) => {
        const fallback = interceptor.fallbacks[index] as ChatModelLike;
        const config = { ...runConfigOf(parsed), ...extra };
        const outputs = await Promise.all(messages.map((prompt) => fallback.invoke(prompt, config) as Promise<BaseMessage>));
        return { generations: outputs.map((message) => [{ text: message.text, message }]), llmOutput: {} } as LLMResult;
      },
      messages,
    );
  });

  define(wrapper, "_streamIterator", async function* _streamIterator(this: ChatModelLike, input: unknown, options?: unknown) {
    // A model that cannot stream yields `this.invoke(...)`, which already goes through `generate`.
    if (!canStream) {
      yield* inner._streamIterator.call(this, input, options);
      return;
    }
    const parsed = (options ?? {}) as CallOptions;
    const opened = await interceptor.call<OpenedStream>(
      parsed,
      (extra) => open(inner._streamIterator.call(this, input, { ...parsed, ...extra })),
      (index) => async (extra) => {
        const fallback = interceptor.fallbacks[index] as ChatModelLike;
        return open(await fallback.stream(input, { ...runConfigOf(parsed), ...extra }));
      },
      input,
    );
    if (opened.first.done === true) return;
    yield opened.first.value;
    for (;;) {
      const next = await opened.rest.next();
      if (next.done === true) return;
      yield next.value;
    }
  });

  if (canStream) {
    define(wrapper, "_streamResponseChunks", async function* _streamResponseChunks(this: ChatModelLike, ...args: unknown[]) {
      const tracker = trackerOf(args[1]);
      for await (const chunk of inner._streamResponseChunks.apply(inner, args)) {
        if (tracker !== undefined) tracker.streamed = true;
        yield chunk;
      }
    });
    const events = (inner as unknown as { _streamChatModelEvents?: (...args: unknown[]) => AsyncGenerator<unknown> })
      ._streamChatModelEvents;
    if (typeof events === "function") {
      define(wrapper, "_streamChatModelEvents", async function* _streamChatModelEvents(this: ChatModelLike, ...args: unknown[]) {
        const tracker = trackerOf(args[1]);
        for await (const event of events.apply(inner, args)) {
          if (tracker !== undefined) tracker.streamed = true;
          yield event;
        }
      });
    }
  }

  define(wrapper, "withConfig", function withConfig(this: ChatModelLike, config: Record<string, unknown>) {
    const out = inner.withConfig.call(this, config);
    // A binding over `this` already routes through the wrapper; a fresh model (ChatOpenAI) has to be wrapped again.
    return isChatModel(out) && !isWrappedModel(out) ? wrapChatModel(out, interceptor, base) : out;
  });

  if (typeof inner.bindTools === "function") {
    const bindTools = inner.bindTools;
    define(wrapper, "bindTools", function bindToolsWrapped(this: ChatModelLike, tools: unknown[], kwargs?: Record<string, unknown>) {
      if (interceptor.fallbacks.length === 0) return bindTools.call(this, tools, kwargs);
      // Each fallback gets the same tools in its own provider's format.
      const bound = interceptor.fallbacks.map((f) =>
        typeof f.bindTools === "function" ? (f.bindTools(tools, kwargs) as ChatModelLike) : f,
      );
      return bindTools.call(wrapChatModel(inner, interceptor.withFallbacks(bound), base), tools, kwargs);
    });
  }
  return wrapper as unknown as M;
}
