/**
 * Circuit breaker built on opossum, configured so that:
 * - opossum never times calls out or aborts a shared controller (timeouts belong to `withTimeout`, per attempt);
 * - what counts as a failure comes from `isFailure` (default `classifyError(e).countsAsFailure`), evaluated on the
 *   normalised error;
 * - an open breaker rejects with `CircuitOpenError` carrying `retryAfterMs`;
 * - state changes are published on `node:diagnostics_channel` and every live breaker is visible to metrics;
 * - with a shared `store`, the breaker acts on the fleet's pooled state while the store answers, and on its own
 *   opossum window while it does not.
 * A name belongs to one live breaker: creating another with equal options returns it, with other options throws.
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
import {
  type BreakerLink,
  type BreakerSettings,
  type BreakerStore,
  LocalBreakerStore,
  type ProbeGrant,
  type SharedBreakerView,
} from "./breaker-store.js";

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
  /**
   * Where the state lives. Default a {@link LocalBreakerStore} (this process). A `RedisBreakerStore` pools the
   * outcomes of every replica with the same store and name, opens the breaker fleet-wide and lets one replica probe.
   */
  store?: BreakerStore;
}

/** A circuit breaker that one or several nodes share. */
export interface CircuitBreaker {
  /** The breaker's name. */
  readonly name: string;
  /** The state this process acts on: the fleet's while a shared store answers, else the local one. */
  readonly state: BreakerState;
  /** True when the breaker's store is shared between processes (whether or not it answers right now). */
  readonly shared: boolean;
  /** The fleet's pooled state as last read from a shared store; `undefined` for a local store or while it is unreachable. */
  readonly sharedState: BreakerState | undefined;
  /** Milliseconds until an open breaker lets a probe through; 0 when closed or half-open. */
  retryAfterMs(): number;
  /**
   * Runs `fn` through the breaker. Rejects at once with `CircuitOpenError` while open. `config` only feeds the
   * graph/node labels of the rejection event.
   */
  execute<T>(fn: () => T | Promise<T>, config?: RunnableConfig): Promise<T>;
  /** Stops the breaker's background timers and frees its name; later calls reject. */
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
  store: rule.methods("a BreakerStore", "link"),
} as const satisfies OptionSpec<keyof CircuitBreakerOptions>;

/**
 * @internal A shared breaker, or options for one whose `name` may be left out (the wrapper names it after the node,
 * model or tool): `resilient({ circuitBreaker })`, `resilientModel` and the agent middleware.
 */
export const BREAKER_OR_OPTIONS = rule.union(
  rule.methods("a CircuitBreaker", "execute"),
  rule.options({ ...CIRCUIT_BREAKER_OPTIONS, name: rule.string({ nonEmpty: true }) }),
);

interface Registered {
  readonly ref: WeakRef<CircuitBreaker>;
  readonly options: ResolvedBreakerOptions;
}

/**
 * The live breaker of each name, held weakly: a breaker nothing else references is collected (and its opossum timers
 * stopped by {@link reaper}), while every live one stays visible to the state gauges and `/readyz`.
 */
const live = new Map<string, Registered>();

interface Reaped {
  readonly name: string;
  readonly ref: WeakRef<CircuitBreaker>;
  readonly opossum: OpossumBreaker;
  readonly link: BreakerLink;
}

/** Stops the timers of a breaker dropped without `shutdown()`; they are all that kept its opossum instance alive. */
const reaper = new FinalizationRegistry<Reaped>(({ name, ref, opossum, link }) => {
  opossum.shutdown();
  link.close();
  if (live.get(name)?.ref === ref) live.delete(name);
});

/** The options that decide a breaker's behaviour, compared when a name is created again (functions by identity). */
const COMPARED = [
  "errorThresholdPercentage",
  "volumeThreshold",
  "rollingCountTimeout",
  "rollingCountBuckets",
  "resetTimeout",
  "isFailure",
  "now",
  "store",
] as const satisfies ReadonlyArray<keyof ResolvedBreakerOptions>;

/** The live breaker named like `o`, when its options are equal; throws when they differ. */
function existingBreaker(o: ResolvedBreakerOptions, where: string): CircuitBreaker | undefined {
  const entry = live.get(o.name);
  const breaker = entry?.ref.deref();
  if (entry === undefined || breaker === undefined) return undefined;
  const differ = COMPARED.filter((key) => entry.options[key] !== o[key]);
  if (differ.length === 0) return breaker;
  throw new TypeError(
    `${where}: a circuit breaker named "${o.name}" already exists with other options (${differ.join(", ")}); ` +
      "share that breaker, give this one another name, or shutdown() the first",
  );
}

/** @internal The newest live breaker per name, for scrape-time state gauges and readiness checks. */
export function liveCircuitBreakers(): CircuitBreaker[] {
  const out: CircuitBreaker[] = [];
  for (const [name, { ref }] of live) {
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

/** The one local store breakers get by default: equal options compare equal. */
const DEFAULT_STORE = new LocalBreakerStore();

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
    store: o.store ?? DEFAULT_STORE,
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

/**
 * What opossum's listeners and the store link update. Kept apart from the breaker object so that opossum's timers
 * and the store's never reach it.
 */
interface BreakerStatus {
  /** Opossum's state: the one acted on while no shared view is available. */
  local: BreakerState;
  openedAt: number;
  /** The state last published on the state-change channel. */
  published: BreakerState;
  link: BreakerLink | undefined;
}

/** The state a breaker acts on: the fleet's while its store answers, else its own. */
function effectiveState(status: BreakerStatus): BreakerState {
  return status.link?.view()?.state ?? status.local;
}

/** Publishes a change of the effective state (opossum's or the fleet's). */
function publishChange(status: BreakerStatus, name: string): void {
  const to = effectiveState(status);
  const from = status.published;
  if (from === to) return;
  status.published = to;
  publish(CHANNELS.breakerStateChange, { breaker: name, from, to });
}

/**
 * Follows opossum's state events and the store's view. Built in its own function: closures share their function's
 * scope, and listeners created next to the breaker object would keep it alive through opossum's interval timer.
 */
function trackStatus(opossum: OpossumBreaker, o: ResolvedBreakerOptions): BreakerStatus {
  const status: BreakerStatus = { local: "closed", openedAt: 0, published: "closed", link: undefined };
  for (const event of ["open", "close", "halfOpen"] as const) {
    (opossum as unknown as NodeJS.EventEmitter).on(event, () => {
      status.local = OPOSSUM_STATE[event] as BreakerState;
      if (status.local === "open") status.openedAt = o.now();
      publishChange(status, o.name);
    });
  }
  const settings: BreakerSettings = {
    errorThresholdPercentage: o.errorThresholdPercentage,
    volumeThreshold: o.volumeThreshold,
    rollingCountTimeout: o.rollingCountTimeout,
    rollingCountBuckets: o.rollingCountBuckets,
    resetTimeout: o.resetTimeout,
  };
  const link: unknown = o.store.link(o.name, { settings, now: o.now, onChange: () => publishChange(status, o.name) });
  const missing = LINK_METHODS.filter((m) => typeof (link as Record<string, unknown> | null)?.[m] !== "function");
  if (missing.length > 0) {
    opossum.shutdown();
    throw new TypeError(`createCircuitBreaker(options).store.link() must return a BreakerLink; it lacks ${missing.join(", ")}`);
  }
  status.link = link as BreakerLink;
  return status;
}

const LINK_METHODS = ["view", "record", "hold", "touch", "tryProbe", "settleProbe", "close"] as const;

const OPOSSUM_STATE: Record<string, BreakerState> = { open: "open", close: "closed", halfOpen: "half_open" };

/** Whether a thrown value counts against the dependency (opossum's errorFilter, inverted). */
function countsAsFailure(o: ResolvedBreakerOptions, error: unknown): boolean {
  return !isGraphBubbleUp(error) && o.isFailure(toError(error));
}

/**
 * Creates a circuit breaker that several nodes can share (for example one per LLM provider). A name belongs to one
 * live breaker: asking for it again with equal options returns that breaker; with other options throws a
 * `TypeError` until the first is shut down.
 * @example
 * const openai = createCircuitBreaker({ name: "openai", volumeThreshold: 20, resetTimeout: 15_000 });
 * builder.addNode("plan", withCircuitBreaker(plan, openai)).addNode("answer", withCircuitBreaker(answer, openai));
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const where = "createCircuitBreaker(options)";
  const o = resolveOptions(options, where);
  const existing = existingBreaker(o, where);
  if (existing !== undefined) return existing;
  const opossum = createOpossum(o);
  const status = trackStatus(opossum, o);
  const link = status.link as BreakerLink;
  const localRetryAfterMs = (): number => (status.local === "open" ? Math.max(0, status.openedAt + o.resetTimeout - o.now()) : 0);
  const sharedRetryAfterMs = (view: SharedBreakerView): number => (view.state === "open" ? Math.max(0, view.probeAt - o.now()) : 0);
  const retryAfterMs = (): number => {
    const view = link.view();
    return view === undefined ? localRetryAfterMs() : sharedRetryAfterMs(view);
  };
  let stopped = false;

  const reject = (config: RunnableConfig | undefined, waitMs: number): never => {
    const rejection = new CircuitOpenError(o.name, waitMs);
    if (hasSubscribers(CHANNELS.breakerRejected)) {
      publish(CHANNELS.breakerRejected, { ...labelsOf(config), config, breaker: o.name, retryAfterMs: rejection.retryAfterMs });
    }
    throw rejection;
  };

  const local = <T>(fn: () => T | Promise<T>, config?: RunnableConfig): Promise<T> =>
    // One rejection handler on opossum's promise rather than an async function: no extra promise on the happy path.
    (opossum.fire(fn) as Promise<T>).then(undefined, (error: unknown): never => {
      if ((error as { code?: unknown } | null)?.code === "EOPENBREAKER" && !(error instanceof CircuitOpenError)) {
        return reject(config, localRetryAfterMs());
      }
      throw toError(error);
    });

  /** A call while the fleet is closed: run it, count its outcome toward the pooled window. */
  const pooled = <T>(fn: () => T | Promise<T>): Promise<T> => {
    let result: Promise<T>;
    try {
      result = runThunk(fn) as Promise<T>;
    } catch (error) {
      link.record(countsAsFailure(o, error));
      return Promise.reject(toError(error));
    }
    return result.then(
      (value) => {
        link.record(false);
        return value;
      },
      (error: unknown): never => {
        link.record(countsAsFailure(o, error));
        throw toError(error);
      },
    );
  };

  /** The one probe of the reset period: its outcome closes or reopens the breaker fleet-wide. */
  const probe = async <T>(fn: () => T | Promise<T>): Promise<T> => {
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      await link.settleProbe(!countsAsFailure(o, error)).catch(() => undefined);
      throw toError(error);
    }
    await link.settleProbe(true).catch(() => undefined);
    return value;
  };

  /** The fleet is open or probing: reject until the reset period is over, then ask for the probe. */
  const gated = async <T>(view: SharedBreakerView, fn: () => T | Promise<T>, config?: RunnableConfig): Promise<T> => {
    if (view.state === "half_open" || view.probeAt > o.now()) return reject(config, sharedRetryAfterMs(view));
    let grant: ProbeGrant;
    try {
      grant = await link.tryProbe();
    } catch {
      // The store is unreachable: the call goes through the local breaker, never failing because of the store.
      return local(fn, config);
    }
    if (grant.granted) return probe(fn);
    if (grant.view.state === "closed") return pooled(fn);
    return reject(config, sharedRetryAfterMs(grant.view));
  };

  const breaker: CircuitBreaker = {
    name: o.name,
    get state() {
      return effectiveState(status);
    },
    shared: link.shared,
    get sharedState() {
      return link.view()?.state;
    },
    retryAfterMs,
    execute<T>(fn: () => T | Promise<T>, config?: RunnableConfig): Promise<T> {
      const view = stopped ? undefined : link.view();
      if (view === undefined) {
        link.touch();
        return local(fn, config);
      }
      if (view.state !== "closed") return gated(view, fn, config);
      // Failures of this process still on their way to the store may have opened the breaker: wait for the verdict.
      const held = link.hold();
      return held === undefined ? pooled(fn) : held.then(() => breaker.execute(fn, config));
    },
    shutdown() {
      stopped = true;
      opossum.shutdown();
      link.close();
      reaper.unregister(breaker);
      if (live.get(o.name)?.ref.deref() === breaker) live.delete(o.name);
    },
  };
  const ref = new WeakRef(breaker);
  live.set(o.name, { ref, options: o });
  reaper.register(breaker, { name: o.name, ref, opossum, link }, breaker);
  publish(CHANNELS.breakerCreated, { breaker: o.name, state: status.local });
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
  // A name taken with other options is refused here, so the error names the wrapper the user called.
  const existing = existingBreaker(resolveOptions(withName, where), where);
  return existing ?? createCircuitBreaker(withName as unknown as CircuitBreakerOptions);
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
