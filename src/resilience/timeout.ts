/**
 * Per-attempt timeout. The node gets a `config.signal` that aborts at the deadline (with a `TimeoutError` as reason)
 * and when the caller's signal aborts; the wrapper rejects at the deadline even if the node ignores its signal.
 * The abort controller is created only if the node reads `config.signal`, so a node that never looks pays nothing
 * for it. Deadlines share one timer per wrapper (see deadline-queue.ts); it keeps its ref while a call is pending
 * (the caller awaits it) and is cleared as soon as none is.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { type Deadline, DeadlineQueue } from "./deadline-queue.js";
import { TimeoutError } from "./errors.js";
import { assertFunction, checkValue, type OptionSpec, rule } from "../core/options.js";
import type { NodeBound, NodeFn, NodeOf, Wrapped, WrappedNode } from "./types.js";
import { callNode, markWrapper } from "../core/node-context.js";
import { isThenable } from "./thenable.js";
import { CHANNELS, hasSubscribers, labelsOf, publish } from "../core/events.js";

/** Options of `withTimeout`. */
export interface TimeoutOptions {
  /** Deadline of one attempt, in milliseconds. */
  ms: number;
}

const MAX_TIMER_MS = 2_147_483_647;
/** A deadline Node's timers can keep (longer ones fire at once). */
const TIMER_MS = rule.number(1, MAX_TIMER_MS);

/** @internal The accepted keys of {@link TimeoutOptions}: validation and the bad-input sweep read it. */
export const TIMEOUT_OPTIONS = { ms: rule.required(TIMER_MS) } as const satisfies OptionSpec<keyof TimeoutOptions>;

/** @internal `withTimeout(node, ms | { ms })` and `resilient({ timeout })`. */
export const TIMEOUT_ARGUMENT = rule.required(rule.union(TIMER_MS, rule.options(TIMEOUT_OPTIONS)));

/** @internal Validates `ms | { ms }`. */
export function resolveTimeoutMs(msOrOptions: unknown, where: string): number {
  checkValue(msOrOptions, TIMEOUT_ARGUMENT, where);
  return typeof msOrOptions === "number" ? msOrOptions : (msOrOptions as TimeoutOptions).ms;
}

type ConfigRecord = Record<string | symbol, unknown>;

const ignore = (): void => undefined;

/**
 * One call under a deadline: settles once, aborts the node's signal (if the node asked for one) on expiry.
 * It is also the proxy handler of the config the node receives: that config reads through to the caller's, except
 * `signal`, which is created on first read. A proxy costs a fraction of copying the config with an accessor, and
 * spreads, `Object.entries` and `in` all see the attempt's signal.
 */
class Attempt<U> implements Deadline, ProxyHandler<ConfigRecord> {
  at = 0;
  done = false;
  controller: AbortController | undefined = undefined;
  onParentAbort: (() => void) | undefined = undefined;
  /** Settle the caller's promise; set once the node turned out to be asynchronous. */
  resolve: (value: U) => void = ignore;
  reject: (error: unknown) => void = ignore;

  constructor(
    readonly queue: DeadlineQueue,
    readonly ms: number,
    readonly runConfig: RunnableConfig | undefined,
  ) {}

  /** The node's `config.signal`, created on first read and linked to the caller's signal. */
  signal(): AbortSignal {
    if (this.controller === undefined) {
      const own = new AbortController();
      this.controller = own;
      const parent = this.runConfig?.signal;
      if (parent !== undefined && !this.done) {
        // A run cancelled while the node was already running: no abort event will come any more.
        if (parent.aborted) own.abort(parent.reason);
        else {
          this.onParentAbort = () => own.abort(parent.reason);
          parent.addEventListener("abort", this.onParentAbort, { once: true });
        }
      }
    }
    return this.controller.signal;
  }

  expire(): void {
    this.unlink();
    const error = new TimeoutError(this.ms);
    this.controller?.abort(error);
    if (hasSubscribers(CHANNELS.timeout)) {
      publish(CHANNELS.timeout, { ...labelsOf(this.runConfig), config: this.runConfig, timeoutMs: this.ms });
    }
    this.reject(error);
  }

  succeed(value: U): void {
    if (this.done) return;
    this.queue.settle(this);
    this.unlink();
    this.resolve(value);
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.queue.settle(this);
    this.unlink();
    this.reject(error);
  }

  /** The node returned or threw synchronously: no deadline was queued, and a later `config.signal` read stays unlinked. */
  finishSync(): void {
    this.done = true;
    this.unlink();
  }

  unlink(): void {
    if (this.onParentAbort !== undefined) this.runConfig?.signal?.removeEventListener("abort", this.onParentAbort);
    this.onParentAbort = undefined;
  }

  get(target: ConfigRecord, key: string | symbol): unknown {
    return key === "signal" ? this.signal() : target[key];
  }

  has(target: ConfigRecord, key: string | symbol): boolean {
    return key === "signal" || key in target;
  }

  ownKeys(target: ConfigRecord): ArrayLike<string | symbol> {
    const keys = Reflect.ownKeys(target);
    if (!keys.includes("signal")) keys.push("signal");
    return keys;
  }

  getOwnPropertyDescriptor(target: ConfigRecord, key: string | symbol): PropertyDescriptor | undefined {
    if (key === "signal") return { value: this.signal(), writable: true, enumerable: true, configurable: true };
    return Reflect.getOwnPropertyDescriptor(target, key);
  }
}

/** The config the node receives: a proxy over the caller's, or a copy when the caller's cannot be proxied honestly. */
function attemptConfigFor<U>(attempt: Attempt<U>, runConfig: RunnableConfig | undefined): unknown {
  const target = runConfig as ConfigRecord | undefined;
  if (target === undefined) return new Proxy<ConfigRecord>({}, attempt);
  if (Object.isExtensible(target)) {
    const own = Reflect.getOwnPropertyDescriptor(target, "signal");
    if (own === undefined || own.configurable === true) return new Proxy(target, attempt);
  }
  // A frozen config forbids a proxy from reporting another signal; copy it instead.
  return {
    ...runConfig,
    get signal(): AbortSignal {
      return attempt.signal();
    },
  };
}

/**
 * Runs one attempt of `node` under the deadline queue of its wrapper. A node that returns synchronously
 * cannot be interrupted and is done before any timer could fire, so only an asynchronous result is raced against
 * the deadline (counted from the call's start).
 */
function runWithTimeout<S, U, C>(node: NodeFn<S, U, C>, state: S, config: C, queue: DeadlineQueue, ms: number): Promise<U> {
  const runConfig = config as RunnableConfig | undefined;
  if (runConfig?.signal?.aborted) return Promise.reject(runConfig.signal.reason);
  const attempt = new Attempt<U>(queue, ms, runConfig);
  const attemptConfig = attemptConfigFor(attempt, runConfig) as C;
  const startedAt = performance.now();
  let result: U | Promise<U>;
  try {
    result = callNode(node, state, attemptConfig);
  } catch (error) {
    attempt.finishSync();
    return Promise.reject(error);
  }
  if (!isThenable(result)) {
    attempt.finishSync();
    return Promise.resolve(result);
  }
  return new Promise<U>((resolve, reject) => {
    attempt.resolve = resolve;
    attempt.reject = reject;
    queue.add(attempt, startedAt);
    result.then(
      (value) => attempt.succeed(value),
      (error: unknown) => attempt.fail(error),
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
export function withTimeout<F extends NodeBound>(node: F, msOrOptions: number | TimeoutOptions): Wrapped<F> {
  return timeoutNode(node as unknown as NodeOf<F>, msOrOptions) as Wrapped<F>;
}

/** @internal `withTimeout` over the generic node shape, for composing. */
export function timeoutNode<S, U, C>(node: NodeFn<S, U, C>, msOrOptions: number | TimeoutOptions): WrappedNode<S, U, C> {
  assertFunction(node, "withTimeout(node)");
  const ms = resolveTimeoutMs(msOrOptions, "withTimeout(ms)");
  const queue = new DeadlineQueue(ms);
  return markWrapper(function timed(state: S, config: C): Promise<U> {
    return runWithTimeout(node, state, config, queue, ms);
  });
}
