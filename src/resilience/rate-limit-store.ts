/**
 * Where a rate limiter keeps its state: the interface every store implements, and the in-memory store (one process,
 * the default). `RedisRateLimitStore` (`langgraph-ops/redis`) shares the state across a fleet.
 */
import { type GcraDecision, type GcraRule, type GcraState, gcraAcquire, gcraAdjust, gcraBlock } from "./gcra.js";

export type { GcraDecision as RateLimitDecision, GcraRule as RateLimitRule } from "./gcra.js";

/** One acquire: a request costing `tokens`, granted when it conforms within `maxWaitMs`. */
export interface RateLimitAcquire {
  /** The limiter's name (the key of its state). */
  key: string;
  rule: GcraRule;
  tokens: number;
  maxWaitMs: number;
}

/**
 * The state of rate limiters, by limiter name. Each method is one atomic step on one limiter's state, on the store's
 * own clock. A shared store's failure is the limiter's business: it falls back to local state and reports it.
 */
export interface RateLimitStore {
  /** Store class for the `store` label of `langgraph_resilience_store_errors_total`. */
  readonly label: string;
  /** Grants a request (reserving its place when it has to wait) or says how long until it would conform. */
  acquire(request: RateLimitAcquire): Promise<GcraDecision>;
  /** Charges (positive) or refunds (negative) requests and tokens: settling an estimate, or a call that never went. */
  adjust(key: string, rule: GcraRule, requests: number, tokens: number): Promise<void>;
  /** Blocks requests for `requestsMs` and tokens for `tokensMs` from now (negative: leave that side), after a provider 429. */
  block(key: string, rule: GcraRule, requestsMs: number, tokensMs: number): Promise<void>;
}

/** The in-memory store: the limiter's state in this process, on `now()` (default `Date.now`). */
export class InMemoryRateLimitStore implements RateLimitStore {
  readonly label = "InMemoryRateLimitStore";
  readonly #states = new Map<string, GcraState>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  #state(key: string): GcraState {
    let state = this.#states.get(key);
    if (state === undefined) {
      state = { requestTat: 0, tokenTat: 0 };
      this.#states.set(key, state);
    }
    return state;
  }

  /** Synchronous acquire, for the limiter's fallback path (no promise on the hot path). */
  acquireNow(request: RateLimitAcquire): GcraDecision {
    return gcraAcquire(this.#state(request.key), request.rule, this.#now(), request.tokens, request.maxWaitMs);
  }

  /** Synchronous adjust. */
  adjustNow(key: string, rule: GcraRule, requests: number, tokens: number): void {
    gcraAdjust(this.#state(key), rule, this.#now(), requests, tokens);
  }

  /** Synchronous block. */
  blockNow(key: string, rule: GcraRule, requestsMs: number, tokensMs: number): void {
    gcraBlock(this.#state(key), rule, this.#now(), requestsMs, tokensMs);
  }

  acquire(request: RateLimitAcquire): Promise<GcraDecision> {
    return Promise.resolve(this.acquireNow(request));
  }

  adjust(key: string, rule: GcraRule, requests: number, tokens: number): Promise<void> {
    this.adjustNow(key, rule, requests, tokens);
    return Promise.resolve();
  }

  block(key: string, rule: GcraRule, requestsMs: number, tokensMs: number): Promise<void> {
    this.blockNow(key, rule, requestsMs, tokensMs);
    return Promise.resolve();
  }
}
