import type { LangGraphRunnableConfig } from "@langchain/langgraph";

/** A LangGraph node: `(state, config) => update`. Wrappers keep the parameter types and return a promise. */
export type NodeFn<S, U, C = LangGraphRunnableConfig> = (state: S, config: C) => U | Promise<U>;

/** What every wrapper returns: the same parameters, an async update. */
export type WrappedNode<S, U, C = LangGraphRunnableConfig> = (state: S, config: C) => Promise<U>;

/** The fields of a run config the wrappers read. */
export type NodeConfig = LangGraphRunnableConfig | undefined;

/** Time source and sleeper, injectable so tests run in milliseconds and exactly. */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. The timer is cleared either way. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
