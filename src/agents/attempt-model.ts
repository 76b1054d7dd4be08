/**
 * The model one attempt of the agent middleware hands to `createAgent`'s model handler: the request's model with the
 * attempt's abort signal and the client's retries off on every provider call it makes. Call options are the only way
 * in: `modelSettings` become `bindTools` defaults, and `ChatOpenAI` lets the run's `signal` override those.
 */
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { anySignal, NO_CLIENT_RETRIES } from "./resilient-model.js";
import { type CallOptions, type ChatModelLike, type ModelInterceptor, wrapChatModel } from "./model-wrapper.js";

function attemptInterceptor(signal: AbortSignal | undefined): ModelInterceptor {
  const interceptor: ModelInterceptor = {
    fallbacks: [],
    withFallbacks: () => interceptor,
    call: <T>(options: CallOptions, primary: (extra: CallOptions) => Promise<T>) =>
      primary({ ...NO_CLIENT_RETRIES, signal: anySignal(options.signal, signal) }),
  };
  return interceptor;
}

/** @internal `model` with `signal` and `maxRetries: 0` on each of its provider calls. */
export function modelForAttempt<M extends object>(model: M, signal: AbortSignal | undefined): M {
  return wrapChatModel(model, attemptInterceptor(signal), BaseChatModel.prototype as unknown as ChatModelLike);
}
