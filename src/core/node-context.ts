/**
 * The seam through which tracing makes a node's span the active OpenTelemetry context while the node runs, so spans
 * started inside the node (HTTP, database, manual) nest under it. The resilience wrappers call the user's node
 * through `callNode`; with no runner installed that is a plain call.
 */
import type { RunnableConfig } from "@langchain/core/runnables";

/** Runs `fn` inside the context that belongs to the node run of `config`. */
export type NodeContextRunner = <T>(config: RunnableConfig | undefined, fn: () => T) => T;

let runner: NodeContextRunner | undefined;

/** @internal Installs (or, with undefined, removes) the runner; tracing calls this. */
export function setNodeContextRunner(next: NodeContextRunner | undefined): void {
  runner = next;
}

const KIT_WRAPPER = Symbol.for("langgraph-ops.wrapper");

/** @internal Marks a function as a kit wrapper, so only the innermost call enters the node context. */
export function markWrapper<F extends object>(fn: F): F {
  (fn as Record<symbol, boolean>)[KIT_WRAPPER] = true;
  return fn;
}

/** @internal Calls `node`, entering the node's tracing context when the node is user code and a runner is installed. */
export function callNode<S, U, C>(node: (state: S, config: C) => U | Promise<U>, state: S, config: C): U | Promise<U> {
  if (runner === undefined || (node as unknown as Record<symbol, boolean>)[KIT_WRAPPER] === true) return node(state, config);
  return runner(config as RunnableConfig | undefined, () => node(state, config));
}

const DEADLINE = Symbol.for("langgraph-ops.deadline");

/**
 * @internal The config with an absolute deadline (ms on the retry's clock) attached, which the policies inside
 * (a rate limiter's wait) read so that they never wait past the budget of the retry around them.
 */
export function withDeadline<C>(config: C, deadline: number): C {
  const current = deadlineOf(config);
  if (current !== undefined && current <= deadline) return config;
  return { ...(config as object), [DEADLINE]: deadline } as C;
}

/** @internal The deadline a retry around this call attached to its config, if any. */
export function deadlineOf(config: unknown): number | undefined {
  const value = (config as Record<symbol, unknown> | null | undefined)?.[DEADLINE];
  return typeof value === "number" ? value : undefined;
}
