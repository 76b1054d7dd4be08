/**
 * Per-attempt timeout. The node gets a `config.signal` that aborts at the deadline (with a `TimeoutError` as reason)
 * and when the caller's signal aborts; the wrapper rejects at the deadline even if the node ignores its signal.
 * The abort controller is created only if the node reads `config.signal`, so a node that never looks pays nothing
 * for it; the deadline timer keeps its ref (the caller awaits it) and is cleared when the call settles.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { TimeoutError } from "./errors.js";
import { assertFunction, numberOption } from "./options.js";
import type { NodeFn, WrappedNode } from "./types.js";
import { callNode, markWrapper } from "../observability/node-context.js";
import { CHANNELS, hasSubscribers, labelsOf, publish } from "../observability/events.js";

/** Options of `withTimeout`. */
export interface TimeoutOptions {
  /** Deadline of one attempt, in milliseconds. */
  ms: number;
}

const MAX_TIMER_MS = 2_147_483_647;

/** @internal Validates `ms | { ms }`. */
export function resolveTimeoutMs(msOrOptions: unknown, where: string): number {
  if (typeof msOrOptions === "object" && msOrOptions !== null && !Array.isArray(msOrOptions)) {
    const keys = Object.keys(msOrOptions);
    const unknown = keys.find((k) => k !== "ms");
    if (unknown !== undefined) throw new TypeError(`${where}: unknown option "${unknown}"; accepted options are ms`);
    return numberOption((msOrOptions as { ms?: unknown }).ms, `${where}.ms`, Number.NaN, { min: 1, max: MAX_TIMER_MS });
  }
  if (msOrOptions === undefined) throw new TypeError(`${where} must be a number of milliseconds or { ms }`);
  return numberOption(msOrOptions, where, Number.NaN, { min: 1, max: MAX_TIMER_MS });
}

/** @internal Runs one attempt of `node` under a deadline of `ms`. */
export function runWithTimeout<S, U, C>(node: NodeFn<S, U, C>, state: S, config: C, ms: number): Promise<U> {
  const runConfig = config as RunnableConfig | undefined;
  const parent = runConfig?.signal;
  if (parent?.aborted) return Promise.reject(parent.reason);

  let controller: AbortController | undefined;
  let onParentAbort: (() => void) | undefined;
  const attemptSignal = (): AbortSignal => {
    if (controller === undefined) {
      const own = new AbortController();
      controller = own;
      if (parent !== undefined) {
        onParentAbort = () => own.abort(parent.reason);
        parent.addEventListener("abort", onParentAbort, { once: true });
      }
    }
    return controller.signal;
  };
  const attemptConfig = {
    ...runConfig,
    get signal(): AbortSignal {
      return attemptSignal();
    },
  } as unknown as C;

  return new Promise<U>((resolve, reject) => {
    let settled = false;
    const finish = (): void => {
      settled = true;
      clearTimeout(timer);
      if (onParentAbort !== undefined) parent?.removeEventListener("abort", onParentAbort);
    };
    const timer = setTimeout(() => {
      if (settled) return;
      finish();
      const error = new TimeoutError(ms);
      controller?.abort(error);
      if (hasSubscribers(CHANNELS.timeout)) publish(CHANNELS.timeout, { ...labelsOf(runConfig), config: runConfig, timeoutMs: ms });
      reject(error);
    }, ms);
    let result: U | Promise<U>;
    try {
      result = callNode(node, state, attemptConfig);
    } catch (error) {
      finish();
      reject(error);
      return;
    }
    Promise.resolve(result).then(
      (value) => {
        if (settled) return;
        finish();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        finish();
        reject(error);
      },
    );
  });
}

/**
 * Limits each call (each attempt, when inside `withRetry`) of a node to `ms` milliseconds. Rejects with
 * `TimeoutError` at the deadline and aborts the `config.signal` the node received, so a node that passes its
 * signal on (to `fetch`, a model, a tool) stops its work.
 * @example
 * builder.addNode("search", withTimeout(search, 10_000));
 */
export function withTimeout<S, U, C>(node: NodeFn<S, U, C>, msOrOptions: number | TimeoutOptions): WrappedNode<S, U, C> {
  assertFunction(node, "withTimeout(node)");
  const ms = resolveTimeoutMs(msOrOptions, "withTimeout(ms)");
  return markWrapper(function timed(state: S, config: C): Promise<U> {
    return runWithTimeout(node, state, config, ms);
  });
}
