/**
 * The rate limiter: requests per minute and tokens per minute, spread over the minute (GCRA with a small burst, see
 * gcra.ts) instead of spent at once, because providers enforce per-minute limits over short windows (600 RPM as
 * 10 per second). A call reserves its place and waits for it (abortable, bounded by `maxWaitMs` and by the budget of
 * a retry around it), or is refused at once with `RateLimitedError` when its place is further away than that. Tokens
 * are reserved from an estimate before the call and settled with the real usage after it. A provider's 429 blocks
 * the limiter until the provider's reset, in the store, so with a shared store one replica's 429 spares the others.
 *
 * A shared store that fails or passes its deadline is reported (`CHANNELS.storeError`) and the limiter carries on
 * with local state at `localShare` of the limits; it asks the store again after `storeRetryMs`.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { assertFunction, assertObject, checkOptions, type OptionSpec, rule } from "../core/options.js";
import { callNode, deadlineOf, markWrapper } from "../core/node-context.js";
import { CHANNELS, hasSubscribers, publish } from "../core/events.js";
import { classifyError } from "./classify.js";
import { sleep } from "./clock.js";
import { RateLimitedError, toError } from "./errors.js";
import type { GcraDecision, GcraRule } from "./gcra.js";
import { InMemoryRateLimitStore, type RateLimitStore } from "./rate-limit-store.js";
import { estimatePromptTokens, providerBlockOf, usageTokensOf } from "./rate-limit-usage.js";
import type { NodeBound, NodeFn, NodeOf, Wrapped, WrappedNode } from "./types.js";

/** Options of `createRateLimiter`: at least one of `requestsPerMinute` and `tokensPerMinute`. */
export interface RateLimiterOptions {
  /** Name of the limiter: its metric label, and its key in a shared store (limiters of one name share one budget). */
  name: string;
  /** Requests allowed per minute, spread evenly (60_000 / requestsPerMinute ms apart, plus `burst`). */
  requestsPerMinute?: number;
  /** Tokens (prompt + completion) allowed per minute. */
  tokensPerMinute?: number;
  /**
   * Requests that may go at once after a quiet spell, on top of the steady rate. Default 1: strictly spaced, so a
   * provider enforcing 600 RPM as 10 per second never sees an 11th in a second.
   */
  burst?: number;
  /** Tokens that may be spent at once after a quiet spell. Default: one second's worth (`tokensPerMinute / 60`). */
  tokenBurst?: number;
  /** Where the limiter's state lives. Default: this process (`InMemoryRateLimitStore`). */
  store?: RateLimitStore;
  /**
   * Longest wait for capacity, in ms; a call whose place is further away is refused at once with `RateLimitedError`.
   * The budget of a `retry` with `maxElapsedMs` around the limiter and the run's abort signal bound the wait too.
   * Default 30_000; 0 never waits.
   */
  maxWaitMs?: number;
  /** Token estimate of a call's input, reserved before the call. Default: prompt text / 4 + 4 per message. */
  estimateTokens?: (input: unknown) => number;
  /**
   * Share of the limits this process uses on its own while the shared store is unreachable, in (0, 1]. Default 1
   * (each replica keeps the full limit: the fleet may overshoot, and the provider's 429s then tighten it); set
   * `1 / replicas` to stay under the limit during an outage.
   */
  localShare?: number;
  /** How long the limiter stays local after a store failure before asking the store again, in ms. Default 1000. */
  storeRetryMs?: number;
}

/** @internal The accepted keys of {@link RateLimiterOptions}: validation and the bad-input sweep read it. */
export const RATE_LIMITER_OPTIONS = {
  name: rule.required(rule.string({ nonEmpty: true })),
  requestsPerMinute: rule.number(Number.MIN_VALUE, 1e9),
  tokensPerMinute: rule.number(Number.MIN_VALUE, 1e12),
  burst: rule.integer(1, 1_000_000),
  tokenBurst: rule.number(1, 1e12),
  store: rule.methods("a RateLimitStore", "acquire", "adjust", "block"),
  maxWaitMs: rule.integer(0, 2_147_483_647),
  estimateTokens: rule.function(),
  localShare: rule.number(Number.MIN_VALUE, 1),
  storeRetryMs: rule.integer(0, 2_147_483_647),
} as const satisfies OptionSpec<keyof RateLimiterOptions>;

/** Options of one acquire. */
export interface AcquireOptions {
  /** Tokens to reserve (an estimate; settle the real usage on the permit). Default 0. */
  tokens?: number;
  /** Aborts the wait (the reservation is handed back). */
  signal?: AbortSignal;
  /** A tighter wait bound than the limiter's `maxWaitMs` for this call, in ms. */
  maxWaitMs?: number;
}

/** A granted call. */
export interface RateLimitPermit {
  /** How long the call waited for capacity, in ms. */
  readonly waitedMs: number;
  /** The tokens reserved. */
  readonly tokens: number;
  /**
   * Settles the reservation with the tokens the call really used: the difference is charged or refunded.
   * `undefined` keeps the estimate. Call it once.
   */
  settle(usedTokens: number | undefined): void;
}

/** A rate limiter, shared by every call that spends the same budget (one provider API key, one model). */
export interface RateLimiter {
  readonly name: string;
  readonly requestsPerMinute: number | undefined;
  readonly tokensPerMinute: number | undefined;
  /** Waits for capacity for one request (and `tokens`); rejects with `RateLimitedError` when it is too far away. */
  acquire(options?: AcquireOptions): Promise<RateLimitPermit>;
  /** The token estimate of a call's input (the `estimateTokens` option, or the default). */
  estimateTokens(input: unknown): number;
  /**
   * Feeds a provider's 429 to the limiter: its `x-ratelimit-*` / `retry-after` headers block the spent budget until the
   * provider's reset, in the store (fleet-wide with a shared store). The wrappers call it for every 429 they see.
   */
  reportRateLimited(error: unknown): void;
  /** Requests and tokens that could go at once (as of now for local state, as of the last answer of a shared store). */
  available(): { requests: number | undefined; tokens: number | undefined };
}

const DEFAULT_MAX_WAIT_MS = 30_000;
const DEFAULT_STORE_RETRY_MS = 1000;

function ruleOf(rpm: number | undefined, tpm: number | undefined, burst: number, tokenBurst: number, share: number): GcraRule {
  const requestIntervalMs = rpm === undefined ? 0 : 60_000 / (rpm * share);
  const tokenIntervalMs = tpm === undefined ? 0 : 60_000 / (tpm * share);
  return {
    requestIntervalMs,
    requestBurstMs: burst * requestIntervalMs,
    tokenIntervalMs,
    tokenBurstMs: tokenBurst * tokenIntervalMs,
  };
}

const live = new Map<string, WeakRef<RateLimiter>>();

/** @internal The newest live limiter per name, for the scrape-time availability gauge. */
export function liveRateLimiters(): RateLimiter[] {
  const out: RateLimiter[] = [];
  for (const [name, ref] of live) {
    const limiter = ref.deref();
    if (limiter === undefined) live.delete(name);
    else out.push(limiter);
  }
  return out;
}

class Limiter implements RateLimiter {
  readonly name: string;
  readonly requestsPerMinute: number | undefined;
  readonly tokensPerMinute: number | undefined;
  readonly #rule: GcraRule;
  readonly #localRule: GcraRule;
  readonly #store: RateLimitStore;
  /** The store is this process's own: no fallback needed, no promise per acquire. */
  readonly #inProcess: InMemoryRateLimitStore | undefined;
  /** Local state while the shared store is unreachable. */
  readonly #local = new InMemoryRateLimitStore();
  readonly #maxWaitMs: number;
  readonly #estimate: (input: unknown) => number;
  readonly #storeRetryMs: number;
  #storeDownUntil = 0;
  #lastRequests: number | undefined;
  #lastTokens: number | undefined;

  constructor(o: RateLimiterOptions) {
    this.name = o.name;
    this.requestsPerMinute = o.requestsPerMinute;
    this.tokensPerMinute = o.tokensPerMinute;
    const burst = o.burst ?? 1;
    const tokenBurst = o.tokenBurst ?? (o.tokensPerMinute === undefined ? 1 : Math.max(1, o.tokensPerMinute / 60));
    this.#rule = ruleOf(o.requestsPerMinute, o.tokensPerMinute, burst, tokenBurst, 1);
    this.#localRule = ruleOf(o.requestsPerMinute, o.tokensPerMinute, burst, tokenBurst, o.localShare ?? 1);
    this.#store = o.store ?? new InMemoryRateLimitStore();
    this.#inProcess = this.#store instanceof InMemoryRateLimitStore ? this.#store : undefined;
    this.#maxWaitMs = o.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.#estimate = o.estimateTokens ?? estimatePromptTokens;
    this.#storeRetryMs = o.storeRetryMs ?? DEFAULT_STORE_RETRY_MS;
  }

  estimateTokens(input: unknown): number {
    const n = this.#estimate(input);
    return typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.ceil(n) : 0;
  }

  available(): { requests: number | undefined; tokens: number | undefined } {
    const local = this.#inProcess ?? (Date.now() < this.#storeDownUntil ? this.#local : undefined);
    if (local !== undefined) {
      const d = local.acquireNow({ key: this.name, rule: local === this.#local ? this.#localRule : this.#rule, tokens: 0, maxWaitMs: -1 });
      return { requests: d.requestsAvailable, tokens: d.tokensAvailable };
    }
    return { requests: this.#lastRequests, tokens: this.#lastTokens };
  }

  #storeFailed(operation: string, error: unknown): void {
    this.#storeDownUntil = Date.now() + this.#storeRetryMs;
    if (hasSubscribers(CHANNELS.storeError)) {
      publish(CHANNELS.storeError, { store: this.#store.label, operation, error: toError(error) });
    }
  }

  /** Runs a fire-and-forget store write (settle, block), reporting a failure. */
  #write(operation: string, shared: () => Promise<void>): void {
    if (Date.now() < this.#storeDownUntil) return;
    Promise.resolve()
      .then(shared)
      .catch((error: unknown) => this.#storeFailed(operation, error));
  }

  async #decide(tokens: number, maxWaitMs: number): Promise<{ decision: GcraDecision; local: boolean }> {
    const request = { key: this.name, rule: this.#rule, tokens, maxWaitMs };
    if (Date.now() >= this.#storeDownUntil) {
      try {
        const decision = await this.#store.acquire(request);
        if (typeof decision?.granted !== "boolean" || typeof decision.waitMs !== "number") {
          throw new TypeError(`${this.#store.label}.acquire answered ${String(decision)}, not a decision`);
        }
        return { decision, local: false };
      } catch (error) {
        this.#storeFailed("acquire", error);
      }
    }
    return { decision: this.#local.acquireNow({ ...request, rule: this.#localRule }), local: true };
  }

  #refund(local: boolean, requests: number, tokens: number): void {
    if (local || this.#inProcess !== undefined) {
      (this.#inProcess ?? this.#local).adjustNow(this.name, local ? this.#localRule : this.#rule, requests, tokens);
    } else {
      this.#write("adjust", () => this.#store.adjust(this.name, this.#rule, requests, tokens));
    }
  }

  async acquire(options: AcquireOptions = {}): Promise<RateLimitPermit> {
    const signal = options.signal;
    if (signal?.aborted) throw signal.reason;
    const tokens = this.tokensPerMinute === undefined ? 0 : Math.max(0, Math.ceil(options.tokens ?? 0));
    const maxWaitMs = Math.max(0, Math.min(this.#maxWaitMs, options.maxWaitMs ?? Number.POSITIVE_INFINITY));
    // In-process state: decided synchronously, no promise of its own.
    const { decision, local } =
      this.#inProcess !== undefined
        ? { decision: this.#inProcess.acquireNow({ key: this.name, rule: this.#rule, tokens, maxWaitMs }), local: false }
        : await this.#decide(tokens, maxWaitMs);
    if (!local) {
      this.#lastRequests = decision.requestsAvailable;
      this.#lastTokens = decision.tokensAvailable;
    }
    if (!decision.granted) {
      if (hasSubscribers(CHANNELS.rateLimitRejected)) {
        publish(CHANNELS.rateLimitRejected, { limiter: this.name, retryAfterMs: decision.waitMs, local });
      }
      throw new RateLimitedError(this.name, decision.waitMs, maxWaitMs);
    }
    if (decision.waitMs > 0) {
      try {
        await sleep(decision.waitMs, signal);
      } catch (reason) {
        // The place was reserved: hand it back so the callers behind move up.
        this.#refund(local, -1, -tokens);
        throw reason;
      }
    }
    if (hasSubscribers(CHANNELS.rateLimitWait)) {
      publish(CHANNELS.rateLimitWait, { limiter: this.name, waitedMs: decision.waitMs, tokens, local });
    }
    return this.#permit(decision.waitMs, tokens, local);
  }

  #permit(waitedMs: number, tokens: number, local: boolean): RateLimitPermit {
    let settled = false;
    return {
      waitedMs,
      tokens,
      settle: (used) => {
        if (settled || this.tokensPerMinute === undefined || used === undefined || !Number.isFinite(used)) return;
        settled = true;
        const diff = Math.ceil(used) - tokens;
        if (diff !== 0) this.#refund(local, 0, diff);
      },
    };
  }

  reportRateLimited(error: unknown): void {
    const block = providerBlockOf(error);
    this.#local.blockNow(this.name, this.#localRule, block.requestsMs, block.tokensMs);
    if (this.#inProcess !== undefined) this.#inProcess.blockNow(this.name, this.#rule, block.requestsMs, block.tokensMs);
    else this.#write("block", () => this.#store.block(this.name, this.#rule, block.requestsMs, block.tokensMs));
  }
}

/** @internal Validates limiter options (with cross-key checks). */
export function resolveRateLimiterOptions(options: unknown, where: string): RateLimiterOptions {
  const o = checkOptions<RateLimiterOptions>(options, RATE_LIMITER_OPTIONS, where);
  if (o.requestsPerMinute === undefined && o.tokensPerMinute === undefined) {
    throw new TypeError(`${where} needs requestsPerMinute or tokensPerMinute (or both), got neither`);
  }
  if (o.tokenBurst !== undefined && o.tokensPerMinute === undefined) {
    throw new TypeError(`${where}.tokenBurst only applies with tokensPerMinute`);
  }
  return o;
}

/**
 * Creates a rate limiter. Share one limiter (or one name on a shared store) between every call that spends the same
 * provider budget.
 * @example
 * const openaiLimit = createRateLimiter({ name: "openai", requestsPerMinute: 500, tokensPerMinute: 200_000 });
 * const llm = resilientModel(new ChatOpenAI({ model: "gpt-4o-mini" }), { rateLimit: openaiLimit });
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const limiter = new Limiter(resolveRateLimiterOptions(options, "createRateLimiter(options)"));
  live.set(limiter.name, new WeakRef(limiter));
  if (hasSubscribers(CHANNELS.rateLimiterCreated)) publish(CHANNELS.rateLimiterCreated, { limiter: limiter.name });
  return limiter;
}

/** @internal A limiter or options for one. */
export const RATE_LIMITER_OR_OPTIONS = rule.union(
  rule.methods("a RateLimiter", "acquire", "estimateTokens", "reportRateLimited"),
  rule.options({ ...RATE_LIMITER_OPTIONS, name: rule.string({ nonEmpty: true }) }),
);

function isLimiter(value: unknown): value is RateLimiter {
  return typeof value === "object" && value !== null && typeof (value as RateLimiter).acquire === "function";
}

/** @internal A limiter, or one created from options (named `defaultName` when unnamed). */
export function toRateLimiter(limiterOrOptions: unknown, defaultName: string, where: string): RateLimiter {
  if (isLimiter(limiterOrOptions)) return limiterOrOptions;
  assertObject(limiterOrOptions, where);
  const named = limiterOrOptions.name === undefined && defaultName !== "" ? { ...limiterOrOptions, name: defaultName } : limiterOrOptions;
  if (named.name === undefined) {
    throw new TypeError(`${where}.name must be a non-empty string, got undefined (it is required when the node function has no name)`);
  }
  resolveRateLimiterOptions(named, where);
  return createRateLimiter(named as unknown as RateLimiterOptions);
}

/** @internal How a wrapped call's tokens are estimated and its usage read (the model wrappers pass their own). */
export interface RateLimitHooks<S, U> {
  tokensOf?: (state: S) => number;
  usageOf?: (update: U) => number | undefined;
}

/**
 * Limits the calls of a node: each waits for capacity (or fails with `RateLimitedError`), reserves the token
 * estimate of its state, settles the real usage found in its update (`usage_metadata` of the AIMessages it returns),
 * and reports a provider 429 it throws to the limiter.
 * @example
 * builder.addNode("call_model", withRateLimit(callModel, { name: "openai", requestsPerMinute: 500 }));
 */
export function withRateLimit<F extends NodeBound>(node: F, limiterOrOptions: RateLimiter | RateLimiterOptions): Wrapped<F> {
  assertFunction(node, "withRateLimit(node)");
  const limiter = toRateLimiter(limiterOrOptions, (node as { name?: string }).name ?? "", "withRateLimit(limiterOrOptions)");
  return rateLimitNode(node as unknown as NodeOf<F>, limiter) as Wrapped<F>;
}

/** @internal `withRateLimit` over the generic node shape, for composing. */
export function rateLimitNode<S, U, C>(
  node: NodeFn<S, U, C>,
  limiter: RateLimiter,
  hooks: RateLimitHooks<S, U> = {},
): WrappedNode<S, U, C> {
  const tokensOf = hooks.tokensOf ?? ((state: S) => limiter.estimateTokens(state));
  const usageOf = hooks.usageOf ?? usageTokensOf;
  const counting = limiter.tokensPerMinute !== undefined;
  return markWrapper(async function rateLimited(state: S, config: C): Promise<U> {
    const signal = (config as RunnableConfig | undefined)?.signal;
    const deadline = deadlineOf(config);
    // Optional calls: a limiter of the user's own making may hand back less than a permit.
    const permit: RateLimitPermit | undefined = await limiter.acquire({
      tokens: counting ? tokensOf(state) : 0,
      ...(signal === undefined ? {} : { signal }),
      ...(deadline === undefined ? {} : { maxWaitMs: Math.max(0, deadline - Date.now()) }),
    });
    let update: U;
    try {
      update = await callNode(node, state, config);
    } catch (error) {
      if (classifyError(error).reason === "rate_limited") {
        limiter.reportRateLimited(error);
        // The provider refused the request: it spent no tokens.
        permit?.settle?.(0);
      }
      throw error;
    }
    if (counting) permit?.settle?.(usageOf(update));
    return update;
  });
}

/** @internal A view of `limiter` whose estimate reads `inputOf(state)`: the model wrappers' calls carry their messages. */
export function limiterFor<S>(limiter: RateLimiter, inputOf: (state: S) => unknown): RateLimiter {
  return {
    name: limiter.name,
    requestsPerMinute: limiter.requestsPerMinute,
    tokensPerMinute: limiter.tokensPerMinute,
    acquire: (options) => limiter.acquire(options),
    estimateTokens: (state) => limiter.estimateTokens(inputOf(state as S)),
    reportRateLimited: (error) => limiter.reportRateLimited(error),
    available: () => limiter.available(),
  };
}
