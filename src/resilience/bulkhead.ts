/**
 * Concurrency limit per wrapped node and process: up to `limit` calls run, up to `queue` wait in FIFO order, the
 * rest are rejected at once with `BulkheadRejectedError`. A queued call whose run is aborted leaves the queue.
 * With a `store`, a call also holds one of `limit` fleet-wide slots (a lease, renewed while it runs); when the store
 * cannot be reached the call runs on the local limit alone.
 */
import { randomUUID } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { SemaphoreStore } from "./semaphore-store.js";
import { BulkheadRejectedError } from "./errors.js";
import { assertFunction, checkOptions, type OptionSpec, rule } from "../core/options.js";
import type { NodeBound, NodeFn, NodeOf, Wrapped, WrappedNode } from "./types.js";
import { callNode, markWrapper } from "../core/node-context.js";
import { CHANNELS, hasSubscribers, labelsOf, publish } from "../core/events.js";

/** Options of `withBulkhead`. */
export interface BulkheadOptions {
  /** Calls allowed to run at once. */
  limit: number;
  /** Calls allowed to wait for a slot, per process. Default 0. */
  queue?: number;
  /**
   * Shares the `limit` slots with every process using the same store and `name` (`RedisSemaphoreStore`). Default:
   * none, the limit is per process.
   */
  store?: SemaphoreStore;
  /** The slots' name in the store. Default the node function's name. */
  name?: string;
}

/** @internal The accepted keys of {@link BulkheadOptions}: validation and the bad-input sweep read it. */
export const BULKHEAD_OPTIONS = {
  limit: rule.required(rule.integer(1)),
  queue: rule.integer(0, undefined, { allowInfinity: true }),
  store: rule.methods("a SemaphoreStore", "acquire", "renew", "release"),
  name: rule.string({ nonEmpty: true }),
} as const satisfies OptionSpec<keyof BulkheadOptions>;

/** Bulkhead options with defaults; `store` and `name` only when shared. */
export interface ResolvedBulkheadOptions {
  limit: number;
  queue: number;
  store?: SemaphoreStore;
  name?: string;
}

/** @internal */
export function resolveBulkheadOptions(options: unknown, where: string): ResolvedBulkheadOptions {
  const o = checkOptions<BulkheadOptions>(options, BULKHEAD_OPTIONS, where);
  return {
    limit: o.limit,
    queue: o.queue ?? 0,
    ...(o.store === undefined ? {} : { store: o.store }),
    ...(o.name === undefined ? {} : { name: o.name }),
  };
}

/** Longest wait between two tries for a fleet slot when no release is announced. */
const FLEET_POLL_MS = 50;

/** A fleet slot held by one call: renewed every third of the lease until released. */
interface FleetSlot {
  release(): void;
}

/**
 * Takes a fleet slot, waiting (abortable) while `canWait` allows; `undefined` when the store failed (the call then
 * runs on the local limit) and `false` when the fleet is full and the call may not wait.
 */
async function takeFleetSlot(
  store: SemaphoreStore,
  name: string,
  limit: number,
  canWait: () => boolean,
  signal: AbortSignal | undefined,
): Promise<FleetSlot | false | undefined> {
  const holder = randomUUID();
  // Whatever the store does (throws, rejects, answers something else), the call goes on: on the local limit.
  const tryTake = (): Promise<boolean | undefined> =>
    Promise.resolve()
      .then(() => store.acquire(name, holder, limit))
      .then(
        (got: unknown) => (typeof got === "boolean" ? got : undefined),
        () => undefined,
      );
  const quietly = (op: () => Promise<unknown>): void => {
    Promise.resolve()
      .then(op)
      .catch(() => undefined);
  };
  let got = await tryTake();
  if (got === false) {
    if (!canWait()) return false;
    let wake: (() => void) | undefined;
    let unsubscribe: (() => void) | undefined;
    try {
      const off: unknown = store.onRelease?.(name, () => wake?.());
      if (typeof off === "function") unsubscribe = off as () => void;
    } catch {
      // no wake-ups: the waiter polls
    }
    try {
      while (got === false) {
        signal?.throwIfAborted();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, FLEET_POLL_MS);
          const done = (): void => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            resolve();
          };
          wake = done;
          signal?.addEventListener("abort", done, { once: true });
        });
        signal?.throwIfAborted();
        got = await tryTake();
      }
    } finally {
      unsubscribe?.();
    }
  }
  if (got === undefined) return undefined;
  const renewal = setInterval(
    () => {
      quietly(() => store.renew(name, holder));
    },
    Math.max(1, Math.floor(store.leaseMs / 3)),
  );
  renewal.unref();
  return {
    release: () => {
      clearInterval(renewal);
      quietly(() => store.release(name, holder));
    },
  };
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
  const where = "withBulkhead(options)";
  const { limit, queue, store, name: slotsName } = resolveBulkheadOptions(options, where);
  const name = slotsName ?? node.name;
  if (store !== undefined && name === "") {
    throw new TypeError(
      `${where}.name must be a non-empty string, got undefined (it is required with a store when the node function has no name)`,
    );
  }
  let running = 0;
  let fleetWaiting = 0;
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
      throw rejected(runConfig);
    }
    let slot: FleetSlot | false | undefined;
    try {
      if (store !== undefined) {
        fleetWaiting += 1;
        try {
          slot = await takeFleetSlot(store, name, limit, () => fleetWaiting <= queue, runConfig?.signal);
        } finally {
          fleetWaiting -= 1;
        }
        if (slot === false) throw rejected(runConfig);
      }
      return await callNode(node, state, config);
    } finally {
      if (slot) slot.release();
      release();
    }
  });

  function rejected(runConfig: RunnableConfig | undefined): BulkheadRejectedError {
    if (hasSubscribers(CHANNELS.bulkheadRejected)) {
      publish(CHANNELS.bulkheadRejected, { ...labelsOf(runConfig), config: runConfig, limit, queue });
    }
    return new BulkheadRejectedError(limit, queue);
  }
}
