/**
 * Circuit breaker built on opossum, configured so that:
 * - opossum never times calls out or aborts a shared controller (timeouts belong to `withTimeout`, per attempt);
 * - what counts as a failure comes from `isFailure` (default `classifyError(e).countsAsFailure`), evaluated on the
 *   normalised error;
 * - an open breaker rejects with `CircuitOpenError` carrying `retryAfterMs`;
 * - state changes are published on `node:diagnostics_channel` and the latest breaker per name is visible to metrics.
 */
import OpossumBreaker from "opossum";
import type { RunnableConfig } from "@langchain/core/runnables";
import { isGraphBubbleUp } from "@langchain/langgraph";
import { classifyError } from "./classify.js";
import { CircuitOpenError, toError } from "./errors.js";
import { assertFunction, assertObject, checkOptions, type OptionSpec, rule } from "../core/options.js";
import type { NodeBound, NodeFn, NodeOf, Wrapped, WrappedNode } from "./types.js";
import { callNode, markWrapper } from "../core/node-context.js";
import { type BreakerState, CHANNELS, hasSubscribers, labelsOf, publish } from "../core/events.js";

/** Options of a circuit breaker; the numeric names and defaults are opossum's. */
export interface CircuitBreakerOptions {
  /** Name used in metrics (`breaker` label), logs and errors. Keep it low-cardinality: one per dependency. */
  name: string;
  /** Open when the failure percentage in the rolling window exceeds this. Default 50. */
  errorThresholdPercentage?: number;
  /** Calls needed in the window before the breaker may open. Default 10. */
  volumeThreshold?: number;
  /** Length of the rolling window in ms. Default 10_000. */
  rollingCountTimeout?: number;
  /** Buckets the window is split into; must divide `rollingCountTimeout`. Default 10. */
  rollingCountBuckets?: number;
  /** Time in ms an open breaker waits before letting one probe through. Default 30_000. */
  resetTimeout?: number;
  /** Whether an error counts against the dependency. Default `classifyError(e).countsAsFailure`. */
  isFailure?: (error: Error) => boolean;
  /** Time source for `retryAfterMs`. Default `Date.now`. */
  now?: () => number;
}

/** A circuit breaker that one or several nodes share. */
export interface CircuitBreaker {
  /** The breaker's name. */
  readonly name: string;
  /** Current state. */
  readonly state: BreakerState;
  /** Milliseconds until an open breaker lets a probe through; 0 when closed or half-open. */
  retryAfterMs(): number;
  /**
   * Runs `fn` through the breaker. Rejects at once with `CircuitOpenError` while open. `config` only feeds the
   * graph/node labels of the rejection event.
   */
  execute<T>(fn: () => T | Promise<T>, config?: RunnableConfig): Promise<T>;
  /** Stops the breaker's background timers; later calls reject. */
  shutdown(): void;
}

/** @internal The accepted keys of {@link CircuitBreakerOptions}: validation and the bad-input sweep read it. */
export const CIRCUIT_BREAKER_OPTIONS = {
  name: rule.required(rule.string({ nonEmpty: true })),
  errorThresholdPercentage: rule.number(0, 100),
  volumeThreshold: rule.integer(0),
  rollingCountTimeout: rule.integer(1),
  rollingCountBuckets: rule.integer(1),
  resetTimeout: rule.integer(1, 2_147_483_647),
  isFailure: rule.function(),
  now: rule.function(),
} as const satisfies OptionSpec<keyof CircuitBreakerOptions>;

/**
 * @internal A shared breaker, or options for one whose `name` may be left out (the wrapper names it after the node,
 * model or tool): `resilient({ circuitBreaker })`, `resilientModel` and the agent middleware.
 */
export const BREAKER_OR_OPTIONS = rule.union(
  rule.methods("a CircuitBreaker", "execute"),
  rule.options({ ...CIRCUIT_BREAKER_OPTIONS, name: rule.string({ nonEmpty: true }) }),
);

/**
 * The newest breaker per name, held weakly: a breaker nothing else references is collected (and its opossum timers
 * stopped by {@link reaper}), while every live one stays visible to the state gauge and `/readyz`.
 */
const live = new Map<string, WeakRef<CircuitBreaker>>();

interface Reaped {
  readonly name: string;
  readonly ref: WeakRef<CircuitBreaker>;
  readonly opossum: OpossumBreaker;
}

/** Stops the timers of a breaker dropped without `shutdown()`; they are all that kept its opossum instance alive. */
const reaper = new FinalizationRegistry<Reaped>(({ name, ref, opossum }) => {
  opossum.shutdown();
  if (live.get(name) === ref) live.delete(name);
});

/** @internal The newest live breaker per name, for scrape-time state gauges and readiness checks. */
export function liveCircuitBreakers(): CircuitBreaker[] {
  const out: CircuitBreaker[] = [];
  for (const [name, ref] of live) {
    const breaker = ref.deref();
    if (breaker === undefined) live.delete(name);
    else out.push(breaker);
  }
  return out;
}

const defaultIsFailure = (error: Error): boolean => classifyError(error).countsAsFailure;
const runThunk = (fn: () => unknown): Promise<unknown> => {
  const result = fn();
  return result instanceof Promise ? result : Promise.resolve(result);
};

type ResolvedBreakerOptions = Required<CircuitBreakerOptions>;

/** Validates options and returns them with defaults filled in. */
function resolveOptions(options: unknown, where: string): ResolvedBreakerOptions {
  const o = checkOptions<CircuitBreakerOptions>(options, CIRCUIT_BREAKER_OPTIONS, where);
  const rollingCountTimeout = o.rollingCountTimeout ?? 10_000;
  const rollingCountBuckets = o.rollingCountBuckets ?? 10;
  if (rollingCountTimeout % rollingCountBuckets !== 0) {
    throw new TypeError(`${where}.rollingCountBuckets (${rollingCountBuckets}) must divide rollingCountTimeout (${rollingCountTimeout})`);
  }
  return {
    name: o.name,
    errorThresholdPercentage: o.errorThresholdPercentage ?? 50,
    volumeThreshold: o.volumeThreshold ?? 10,
    rollingCountTimeout,
    rollingCountBuckets,
    resetTimeout: o.resetTimeout ?? 30_000,
    isFailure: o.isFailure ?? defaultIsFailure,
    now: o.now ?? Date.now,
  };
}

/** @internal Validates breaker options (throws the `TypeError` `createCircuitBreaker` would) without creating one. */
export function validateBreakerOptions(options: unknown, where: string): void {
  resolveOptions(options, where);
}

/** Opossum configured as the module comment says; its `errorFilter` closes over the options only (see trackStatus). */
function createOpossum(o: ResolvedBreakerOptions): OpossumBreaker {
  return new OpossumBreaker(runThunk, {
    name: o.name,
    timeout: false,
    errorThresholdPercentage: o.errorThresholdPercentage,
    volumeThreshold: o.volumeThreshold,
    rollingCountTimeout: o.rollingCountTimeout,
    rollingCountBuckets: o.rollingCountBuckets,
    resetTimeout: o.resetTimeout,
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
    // opossum's errorFilter: true means "not a failure"; bubble-ups (interrupts) never are.
    errorFilter: (error: unknown) => isGraphBubbleUp(error) || !o.isFailure(toError(error)),
  } as OpossumBreaker.Options);
}

/** What opossum's listeners update. Kept apart from the breaker object so that opossum's timers never reach it. */
interface BreakerStatus {
  state: BreakerState;
  openedAt: number;
}

/**
 * Follows opossum's state events. Built in its own function: closures share their function's scope, and listeners
 * created next to the breaker object would keep it alive through opossum's interval timer.
 */
function trackStatus(opossum: OpossumBreaker, o: ResolvedBreakerOptions): BreakerStatus {
  const status: BreakerStatus = { state: "closed", openedAt: 0 };
  for (const event of ["open", "close", "halfOpen"] as const) {
    (opossum as unknown as NodeJS.EventEmitter).on(event, () => {
      const from = status.state;
      status.state = OPOSSUM_STATE[event] as BreakerState;
      if (status.state === "open") status.openedAt = o.now();
      if (from !== status.state) publish(CHANNELS.breakerStateChange, { breaker: o.name, from, to: status.state });
    });
  }
  return status;
}

const OPOSSUM_STATE: Record<string, BreakerState> = { open: "open", close: "closed", halfOpen: "half_open" };

/**
 * Creates a circuit breaker that several nodes can share (for example one per LLM provider).
 * @example
 * const openai = createCircuitBreaker({ name: "openai", volumeThreshold: 20, resetTimeout: 15_000 });
 * builder.addNode("plan", withCircuitBreaker(plan, openai)).addNode("answer", withCircuitBreaker(answer, openai));
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const o = resolveOptions(options, "createCircuitBreaker(options)");
  const opossum = createOpossum(o);
  const status = trackStatus(opossum, o);
  const retryAfterMs = (): number => (status.state === "open" ? Math.max(0, status.openedAt + o.resetTimeout - o.now()) : 0);

  const breaker: CircuitBreaker = {
    name: o.name,
    get state() {
      return status.state;
    },
    retryAfterMs,
    execute<T>(fn: () => T | Promise<T>, config?: RunnableConfig): Promise<T> {
      // One rejection handler on opossum's promise rather than an async function: no extra promise on the happy path.
      return (opossum.fire(fn) as Promise<T>).then(undefined, (error: unknown): never => {
        if ((error as { code?: unknown } | null)?.code === "EOPENBREAKER" && !(error instanceof CircuitOpenError)) {
          const rejection = new CircuitOpenError(o.name, retryAfterMs());
          if (hasSubscribers(CHANNELS.breakerRejected)) {
            publish(CHANNELS.breakerRejected, { ...labelsOf(config), config, breaker: o.name, retryAfterMs: rejection.retryAfterMs });
          }
          throw rejection;
        }
        throw toError(error);
      });
    },
    shutdown() {
      opossum.shutdown();
      reaper.unregister(breaker);
      if (live.get(o.name)?.deref() === breaker) live.delete(o.name);
    },
  };
  const ref = new WeakRef(breaker);
  live.set(o.name, ref);
  reaper.register(breaker, { name: o.name, ref, opossum }, breaker);
  publish(CHANNELS.breakerCreated, { breaker: o.name, state: status.state });
  return breaker;
}

function isBreaker(value: unknown): value is CircuitBreaker {
  return typeof value === "object" && value !== null && typeof (value as CircuitBreaker).execute === "function";
}

/** @internal Accepts a breaker or options (named after the node when `name` is missing). */
export function toBreaker(breakerOrOptions: unknown, nodeName: string, where: string): CircuitBreaker {
  if (isBreaker(breakerOrOptions)) return breakerOrOptions;
  assertObject(breakerOrOptions, where);
  const withName = breakerOrOptions.name === undefined && nodeName !== "" ? { ...breakerOrOptions, name: nodeName } : breakerOrOptions;
  if (withName.name === undefined) {
    throw new TypeError(`${where}.name must be a non-empty string, got undefined (it is required when the node function has no name)`);
  }
  resolveOptions(withName, where);
  return createCircuitBreaker(withName as unknown as CircuitBreakerOptions);
}

/**
 * Guards a node with a circuit breaker: while open, calls reject at once with `CircuitOpenError` without running
 * the node. Pass a breaker from `createCircuitBreaker` to share it between nodes, or options to create one.
 * @example
 * builder.addNode("call_model", withCircuitBreaker(callModel, { name: "openai", resetTimeout: 10_000 }));
 */
export function withCircuitBreaker<F extends NodeBound>(node: F, breakerOrOptions: CircuitBreaker | CircuitBreakerOptions): Wrapped<F> {
  return breakerNode(node as unknown as NodeOf<F>, breakerOrOptions) as Wrapped<F>;
}

/** @internal `withCircuitBreaker` over the generic node shape, for composing. */
export function breakerNode<S, U, C>(
  node: NodeFn<S, U, C>,
  breakerOrOptions: CircuitBreaker | CircuitBreakerOptions,
): WrappedNode<S, U, C> {
  assertFunction(node, "withCircuitBreaker(node)");
  const breaker = toBreaker(breakerOrOptions, node.name, "withCircuitBreaker(options)");
  return markWrapper(function circuitBroken(state: S, config: C): Promise<U> {
    return breaker.execute(() => callNode(node, state, config), config as RunnableConfig | undefined);
  });
}
