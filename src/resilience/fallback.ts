/**
 * Fallback: when the wrapped node fails for real (not control flow, not a cancelled run), the fallback's update
 * is used instead.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { isGraphBubbleUp } from "@langchain/langgraph";
import { toError } from "./errors.js";
import { assertFunction } from "./options.js";
import type { ConfigOf, FallbackUpdateOf, NodeBound, NodeFn, StateOf, WrappedNode, WrappedWithFallback } from "./types.js";
import { callNode, markWrapper } from "../core/node-context.js";
import { CHANNELS, hasSubscribers, labelsOf, publish } from "../core/events.js";

/** Produces a replacement update from the error that made the node fail. */
export type FallbackFn<S, U, C> = (error: Error, state: S, config: C) => U | Promise<U>;

/**
 * Returns the fallback's update when the node throws. Interrupts and other LangGraph control flow pass through, and
 * so does the error of a run whose `config.signal` was aborted.
 * @example
 * builder.addNode("answer", withFallback(answer, () => ({ messages: [new AIMessage("Sorry, try again later.")] })));
 */
export function withFallback<F extends NodeBound>(
  node: F,
  fallback: FallbackFn<StateOf<F>, FallbackUpdateOf<F>, ConfigOf<F>>,
): WrappedWithFallback<F> {
  return fallbackNode<StateOf<F>, FallbackUpdateOf<F>, ConfigOf<F>>(
    node as unknown as NodeFn<StateOf<F>, FallbackUpdateOf<F>, ConfigOf<F>>,
    fallback,
  ) as WrappedWithFallback<F>;
}

/** @internal `withFallback` over the generic node shape, for composing. */
export function fallbackNode<S, U, C>(node: NodeFn<S, U, C>, fallback: FallbackFn<S, U, C>): WrappedNode<S, U, C> {
  assertFunction(node, "withFallback(node)");
  assertFunction(fallback, "withFallback(fallback)");
  return markWrapper(async function withFallbackUpdate(state: S, config: C): Promise<U> {
    try {
      return await callNode(node, state, config);
    } catch (thrown) {
      if (isGraphBubbleUp(thrown)) throw thrown;
      const runConfig = config as RunnableConfig | undefined;
      if (runConfig?.signal?.aborted) throw thrown;
      const error = toError(thrown);
      if (hasSubscribers(CHANNELS.fallback)) publish(CHANNELS.fallback, { ...labelsOf(runConfig), config: runConfig, error });
      return fallback(error, state, config);
    }
  });
}
