/**
 * Where a circuit breaker keeps the state it acts on. The default, {@link LocalBreakerStore}, keeps it in this
 * process (the breaker's own rolling window). A shared store (`RedisBreakerStore` from `langgraph-ops/redis`) pools
 * the outcomes of every replica: the breaker then reads the fleet's state from a cache the store keeps current, and
 * falls back to its local window whenever the store cannot be reached.
 */
import type { BreakerState } from "../core/events.js";

/** The thresholds a breaker is built with; a shared store applies them to the pooled window. */
export interface BreakerSettings {
  /** Open when the failure percentage in the window exceeds this. */
  readonly errorThresholdPercentage: number;
  /** Calls needed in the window before the breaker may open. */
  readonly volumeThreshold: number;
  /** Length of the rolling window in ms. */
  readonly rollingCountTimeout: number;
  /** Buckets the window is split into. */
  readonly rollingCountBuckets: number;
  /** Time in ms an open breaker waits before letting one probe through. */
  readonly resetTimeout: number;
}

/** The fleet's state of one breaker, as this process last heard it. */
export interface SharedBreakerView {
  /** The pooled state. */
  readonly state: BreakerState;
  /** While `open`: the time (the breaker's clock, ms) from which one replica may probe. */
  readonly probeAt: number;
}

/** What asking for the half-open probe returned. */
export type ProbeGrant = { readonly granted: true } | { readonly granted: false; readonly view: SharedBreakerView };

/** One breaker's connection to its store. */
export interface BreakerLink {
  /** True for a store shared between processes, whether or not it answers right now. */
  readonly shared: boolean;
  /**
   * The shared state, read from a local cache (no I/O), or `undefined` when the breaker acts on its local window:
   * always for the local store, and for a shared store while it is unreachable.
   */
  view(): SharedBreakerView | undefined;
  /** Counts one outcome of a call made while the shared state was closed; the store batches them. */
  record(failure: boolean): void;
  /**
   * While failures this process counted are on their way to the store: a promise that settles once the store
   * answered (so the next call sees whether they opened the breaker); otherwise `undefined`.
   */
  hold(): Promise<void> | undefined;
  /** Tells the store a call ran on the local window, so that it keeps trying to reach a store that did not answer. */
  touch(): void;
  /** Asks for the one probe of the reset period. Rejects when the store is unreachable. */
  tryProbe(): Promise<ProbeGrant>;
  /** Reports the outcome of a granted probe: success closes the breaker fleet-wide, failure opens it again. */
  settleProbe(success: boolean): Promise<void>;
  /** Stops the link's background work. */
  close(): void;
}

/** What a breaker tells its store when it links to it. */
export interface BreakerLinkOptions {
  /** The breaker's thresholds. */
  readonly settings: BreakerSettings;
  /** The breaker's clock. */
  readonly now: () => number;
  /** Called whenever {@link BreakerLink.view} changes. */
  readonly onChange: () => void;
}

/** Keeps breaker state: in the process ({@link LocalBreakerStore}) or shared by a fleet. */
export interface BreakerStore {
  /** Links the breaker `name` to the store. */
  link(name: string, options: BreakerLinkOptions): BreakerLink;
}

const LOCAL_LINK: BreakerLink = {
  shared: false,
  view: () => undefined,
  record: () => undefined,
  touch: () => undefined,
  hold: () => undefined,
  tryProbe: () => Promise.reject(new Error("the local breaker store has no shared probe")),
  settleProbe: () => Promise.resolve(),
  close: () => undefined,
};

/**
 * The default store: the breaker's state lives in this process only (each replica opens and probes on its own).
 * @example
 * const openai = createCircuitBreaker({ name: "openai", store: new LocalBreakerStore() });
 */
export class LocalBreakerStore implements BreakerStore {
  link(): BreakerLink {
    return LOCAL_LINK;
  }
}
