import type { LangGraphRunnableConfig } from "@langchain/langgraph";

/** A LangGraph node: `(state, config) => update`. Wrappers keep the parameter types and return a promise. */
export type NodeFn<S, U, C = LangGraphRunnableConfig> = (state: S, config: C) => U | Promise<U>;

/** What every wrapper returns: the same parameters, an async update. */
export type WrappedNode<S, U, C = LangGraphRunnableConfig> = (state: S, config: C) => Promise<U>;

/**
 * Any node function. Declared as a method so that its parameters compare bivariantly: a node whose config is a plain
 * `RunnableConfig`, a `LangGraphRunnableConfig<Context>` or a narrower shape still fits. Its parameter types are what
 * an unannotated inline node gets where nothing else gives them (`config` is LangGraph's config, with `signal`).
 */
export type AnyNode = { node(state: unknown, config: LangGraphRunnableConfig): unknown }["node"];

/**
 * The bound of a wrapper's node type parameter. It is wider than {@link AnyNode} (which the wrappers check at wrap
 * time) because the type TypeScript infers from `addNode`'s or `addConditionalEdges`' parameter, a union of runnable
 * shapes, has to satisfy it for an inline node to take its `state` and `config` types from the graph.
 */
export type NodeBound = AnyNode | NonNullable<unknown>;

/** The state parameter of a node function type. */
export type StateOf<F> = F extends (state: infer S, ...rest: never[]) => unknown ? S : never;

/** The config parameter of a node function type (`unknown` when the node declares none). */
export type ConfigOf<F> = F extends (state: never, config: infer C) => unknown ? C : never;

/** The update a node function type resolves to. */
export type UpdateOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/**
 * What a wrapper returns for node type `F`: the same parameter types and an async update. The second branch keeps
 * `F` itself in the result so that TypeScript can infer `F` from where the wrapped node is passed.
 */
export type Wrapped<F> = F extends AnyNode ? WrappedNode<StateOf<F>, UpdateOf<F>, ConfigOf<F>> : F;

/**
 * What a fallback for node type `F` may return. For a node that returns a state update: that update or any part of
 * the state (a fallback often stands in for a node that never returns normally, or is a placeholder shared by several
 * nodes). For a routing function (a conditional edge returning node names): the same kind of value as the function.
 */
export type FallbackUpdateOf<F> = [UpdateOf<F>] extends [never]
  ? Partial<StateOf<F>>
  : UpdateOf<F> extends object
    ? UpdateOf<F> | Partial<StateOf<F>>
    : UpdateOf<F>;

/** What a wrapper with a fallback returns for node type `F`: the same parameter types, the node's or the fallback's update. */
export type WrappedWithFallback<F> = F extends AnyNode ? WrappedNode<StateOf<F>, FallbackUpdateOf<F>, ConfigOf<F>> : F;

/** `F` seen as the generic node shape the wrappers are written against. */
export type NodeOf<F> = NodeFn<StateOf<F>, UpdateOf<F>, ConfigOf<F>>;

/** Time source and sleeper, injectable so tests run in milliseconds and exactly. */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. The timer is cleared either way. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
