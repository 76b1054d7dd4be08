/**
 * Concurrency limit per wrapped node and process: up to `limit` calls run, up to `queue` wait in FIFO order, the
 * rest are rejected at once with `BulkheadRejectedError`. A queued call whose run is aborted leaves the queue.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { BulkheadRejectedError } from "./errors.js";
import { assertFunction, checkOptions, type OptionSpec, rule } from "../core/options.js";
import type { NodeBound, NodeFn, NodeOf, Wrapped, WrappedNode } from "./types.js";
import { callNode, markWrapper } from "../core/node-context.js";
import { CHANNELS, hasSubscribers, labelsOf, publish } from "../core/events.js";

/** Options of `withBulkhead`. */
export interface BulkheadOptions {
  /** Calls allowed to run at once. */
  limit: number;
  /** Calls allowed to wait for a slot. Default 0. */
  queue?: number;
}

/** @internal The accepted keys of {@link BulkheadOptions}: validation and the bad-input sweep read it. */
export const BULKHEAD_OPTIONS = {
  limit: rule.required(rule.integer(1)),
  queue: rule.integer(0, undefined, { allowInfinity: true }),
} as const satisfies OptionSpec<keyof BulkheadOptions>;

/** @internal */
export function resolveBulkheadOptions(options: unknown, where: string): Required<BulkheadOptions> {
  const o = checkOptions<BulkheadOptions>(options, BULKHEAD_OPTIONS, where);
  return { limit: o.limit, queue: o.queue ?? 0 };
}

interface Waiter {
  grant: () => void;
}

/**
 * Runs at most `limit` calls of the node at once in this process, queueing up to `queue` more.
 * @example
 * builder.addNode("scrape", withBulkhead(scrape, { limit: 4, queue: 16 }));
 */
export function withBulkhead<F extends NodeBound>(node: F, options: BulkheadOptions): Wrapped<F> {
  return bulkheadNode(node as unknown as NodeOf<F>, options) as Wrapped<F>;
}

/** @internal `withBulkhead` over the generic node shape, for composing. */
export function bulkheadNode<S, U, C>(node: NodeFn<S, U, C>, options: BulkheadOptions): WrappedNode<S, U, C> {
  assertFunction(node, "withBulkhead(node)");
  const { limit, queue } = resolveBulkheadOptions(options, "withBulkhead(options)");
  let running = 0;
  const waiting: Waiter[] = [];

  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) running -= 1;
    else next.grant();
  };

  const acquire = (signal: AbortSignal | undefined): Promise<void> =>
    new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const index = waiting.indexOf(waiter);
        if (index >= 0) waiting.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      waiting.push(waiter);
    });

  return markWrapper(async function bulkheaded(state: S, config: C): Promise<U> {
    const runConfig = config as RunnableConfig | undefined;
    if (running < limit) {
      running += 1;
    } else if (waiting.length < queue) {
      if (runConfig?.signal?.aborted) throw runConfig.signal.reason;
      await acquire(runConfig?.signal);
    } else {
      if (hasSubscribers(CHANNELS.bulkheadRejected)) {
        publish(CHANNELS.bulkheadRejected, { ...labelsOf(runConfig), config: runConfig, limit, queue });
      }
      throw new BulkheadRejectedError(limit, queue);
    }
    try {
      return await callNode(node, state, config);
    } finally {
      release();
    }
  });
}
