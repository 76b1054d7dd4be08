/**
 * Idempotency keyed by the node task. LangGraph gives every node task a deterministic id (a uuid5 of the
 * checkpoint it was planned from, the step, the node and its trigger) that stays the same across `RetryPolicy`
 * attempts, `interrupt()`/resume and a resume after a crash when the checkpoint was persisted. Under the default
 * `"async"` durability a kill can lose the checkpoint a task was planned from; the resumed run re-plans that step
 * from a new checkpoint id and the task id changes. The default key therefore replaces the task's own id with a
 * digest of what the re-planned task keeps: the step number (monotonic within a thread) and the task path (node and
 * trigger, or the `Send` index). Parent namespaces of subgraph tasks keep their ids.
 */
import { createHash, randomUUID } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";
import { load } from "@langchain/core/load";
import { isGraphBubbleUp } from "@langchain/langgraph";
import { systemClock } from "./clock.js";
import { IdempotencyConflictError, toError } from "./errors.js";
import { assertFunction, checkOptions, type OptionSpec, rule } from "../core/options.js";
import { chainEntry, nextClaim } from "./idempotency-chain.js";
import { type ClaimResult, type IdempotencyStore, getDefaultIdempotencyStore } from "./idempotency-store.js";
import type { Clock, ConfigOf, NodeBound, NodeFn, NodeOf, StateOf, Wrapped, WrappedNode } from "./types.js";
import { callNode, markWrapper } from "../core/node-context.js";
import { CHANNELS, hasSubscribers, labelsOf, publish } from "../core/events.js";

/** Options shared by `withIdempotency` and `runOnce`. */
export interface IdempotencyBaseOptions {
  /** Where records live. Default: the process default (`setDefaultIdempotencyStore`), else a shared in-memory store. */
  store?: IdempotencyStore;
  /** How long a finished result is replayed, in ms. Default 24 h. */
  ttlMs?: number;
  /** How long a claim is held before another caller may take over (a crashed holder), in ms. Default 5 min. */
  leaseMs?: number;
  /** How long a duplicate waits for the holder's result before `IdempotencyConflictError`, in ms. Default 30 s. */
  waitMs?: number;
  /** Time source and sleeper for the wait loop. */
  clock?: Clock;
}

/** Options of `withIdempotency`. */
export interface IdempotencyOptions<S = unknown, C = RunnableConfig> extends IdempotencyBaseOptions {
  /** Derives the key from the state (e.g. a request id); default: the node task key (`idempotencyKey(config)`). */
  key?: (state: S, config: C) => string;
}

/** Options of `runOnce`. */
export type RunOnceOptions = IdempotencyBaseOptions;

const BASE_OPTIONS = {
  store: rule.methods("an IdempotencyStore", "claim", "complete", "release"),
  ttlMs: rule.integer(1),
  leaseMs: rule.integer(1, 2_147_483_647),
  waitMs: rule.integer(0, 2_147_483_647),
  clock: rule.methods("a Clock", "now", "sleep"),
} as const satisfies OptionSpec<keyof IdempotencyBaseOptions>;

/** @internal The accepted keys of {@link RunOnceOptions}: validation and the bad-input sweep read it. */
export const RUN_ONCE_OPTIONS = BASE_OPTIONS satisfies OptionSpec<keyof RunOnceOptions>;

/** @internal The accepted keys of {@link IdempotencyOptions}: validation and the bad-input sweep read it. */
export const IDEMPOTENCY_OPTIONS = { ...BASE_OPTIONS, key: rule.function() } as const satisfies OptionSpec<keyof IdempotencyOptions>;

interface ResolvedIdempotency {
  store: IdempotencyStore | undefined;
  ttlMs: number;
  leaseMs: number;
  waitMs: number;
  clock: Clock;
}

function resolveBase(o: IdempotencyBaseOptions): ResolvedIdempotency {
  return {
    store: o.store,
    ttlMs: o.ttlMs ?? 86_400_000,
    leaseMs: o.leaseMs ?? 300_000,
    waitMs: o.waitMs ?? 30_000,
    clock: o.clock ?? systemClock,
  };
}

/**
 * The stable idempotency key of the node task that `config` belongs to: the same across attempts, retries,
 * interrupt/resume and a resume after a restart, unique per task and thread (and per tool call inside a tool, whose
 * config carries the tool call id). Pass it (or a key derived from it) to
 * external APIs as an `Idempotency-Key` header so they deduplicate too.
 * @param name distinguishes several side effects in one node
 * @throws TypeError when the config has no `thread_id` or was not given to a LangGraph node
 */
export function idempotencyKey(config: RunnableConfig | undefined, name?: string): string {
  const configurable = config?.configurable as Record<string, unknown> | undefined;
  const threadId = configurable?.thread_id;
  if (typeof threadId !== "string" && typeof threadId !== "number") {
    throw new TypeError(
      "idempotency needs a thread: invoke the graph with { configurable: { thread_id } } (and a checkpointer), " +
        "or pass a `key` option to withIdempotency/runOnce",
    );
  }
  const execution = (config as { executionInfo?: { checkpointNs?: unknown } }).executionInfo;
  const namespace = execution?.checkpointNs ?? configurable?.checkpoint_ns;
  if (typeof namespace !== "string" || namespace === "") {
    throw new TypeError("idempotencyKey(config): config has no checkpoint_ns; call it with the config a LangGraph node received");
  }
  const task = `${String(threadId)}:${stableNamespace(namespace, config?.metadata)}`;
  // A tool run by a tools node gets the tool call's id in its config: several calls in one node task (parallel
  // tool calls) must not share a key, and one call keeps its key across retries and resumes.
  const toolCallId = (config as { toolCallId?: unknown }).toolCallId;
  const base = typeof toolCallId === "string" && toolCallId !== "" ? `${task}:tool:${toolCallId}` : task;
  return name === undefined ? base : `${base}:${name}`;
}

/**
 * `checkpoint_ns` with the last segment's task id (`node:<task id>`) replaced by a uuid-shaped digest of the task's
 * step and path, which a re-planned task keeps while its id changes. Without both (a config built by hand) the
 * namespace is used as it is.
 */
function stableNamespace(namespace: string, metadata: Record<string, unknown> | undefined): string {
  const step = metadata?.langgraph_step;
  const path = metadata?.langgraph_path;
  const cut = namespace.lastIndexOf(":");
  if (typeof step !== "number" || !Array.isArray(path) || cut < 0 || namespace.indexOf("|", cut) >= 0) return namespace;
  let described: string;
  try {
    described = JSON.stringify([step, path]);
  } catch {
    // A path LangGraph could not have meant to be hashed (cyclic): the task id is still a correct, if less durable, key.
    return namespace;
  }
  const hex = createHash("sha1").update(described).digest("hex");
  return `${namespace.slice(0, cut)}:${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function encode(value: unknown, where: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value === undefined ? { u: true } : { v: value });
  } catch (error) {
    throw new TypeError(`${where}: the result is not JSON-serialisable (${toError(error).message})`, { cause: error });
  }
  if (text === undefined) throw new TypeError(`${where}: the result is not JSON-serialisable`);
  return text;
}

async function decode<T>(text: string): Promise<T> {
  // LangChain messages serialise as { lc: 1, type: "constructor", ... }; load() revives them as message instances.
  const envelope = (text.includes('"lc":1') ? await load(text) : JSON.parse(text)) as { v?: T; u?: true };
  return envelope.v as T;
}

/** Settles with `work`, or rejects with the signal's reason as soon as `signal` aborts. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

const ignore = (): void => undefined;

/**
 * @internal Claims `key`, runs `work` once, records its result, or replays / waits for another holder's result.
 * `work` starts only under a claim the store granted, within its lease, while `config.signal` has not aborted; a
 * claim that answers after the abort is released. The attempts of one task run recognise their own leases (see
 * idempotency-chain.ts): a retry takes its earlier attempt's lease over, joins its still-running work, or records the
 * result that attempt could not record, instead of running the work again or waiting on itself.
 */
async function runClaimed<T>(
  key: string,
  operation: string,
  o: ResolvedIdempotency,
  config: RunnableConfig | undefined,
  work: () => Promise<T>,
  where: string,
): Promise<T> {
  const store = o.store ?? getDefaultIdempotencyStore();
  const signal = config?.signal;
  const chain = chainEntry(config, key);
  const started = o.clock.now();
  let pollMs = 10;
  const report = (result: "hit" | "miss" | "conflict"): void => {
    if (hasSubscribers(CHANNELS.idempotency)) publish(CHANNELS.idempotency, { ...labelsOf(config), config, result, key, operation });
  };
  const release = (token: string): void => {
    store.release(key, token).then(ignore, ignore);
  };
  /** Under a granted lease: records the result this chain already has, or runs the work and records its result. */
  const runHeld = async (token: string): Promise<T> => {
    const done = chain.done;
    if (done !== undefined) {
      // This chain already ran the work; only the record is missing.
      report("hit");
      await store.complete(key, token, done.text, o.ttlMs);
      chain.done = undefined;
      return done.value as T;
    }
    report("miss");
    const running = work();
    chain.running = running;
    let value: T;
    try {
      value = await running;
    } catch (error) {
      // Not awaited: a frozen store must not hold the error back, and this chain's retry supersedes the lease anyway.
      release(token);
      throw error;
    } finally {
      chain.running = undefined;
    }
    const text = encode(value, where);
    chain.done = { value, text };
    await store.complete(key, token, text, o.ttlMs);
    chain.done = undefined;
    return value;
  };
  for (;;) {
    if (signal?.aborted) throw signal.reason;
    // An earlier attempt of this chain is still running the work (its attempt timed out): never run it twice at once.
    if (chain.running !== undefined) await abortable(chain.running.then(ignore, ignore), signal);
    const token = randomUUID();
    const supersedes = nextClaim(chain, token);
    const claimedAt = o.clock.now();
    const pending = Promise.resolve(store.claim(key, o.leaseMs, { token, supersedes }));
    let claim: ClaimResult;
    try {
      claim = await abortable(pending, signal);
    } catch (error) {
      if (signal?.aborted) {
        // The store may still grant the claim: give a lease nobody will use back.
        pending.then((late) => late.status === "acquired" && release(late.token), ignore);
      }
      throw error;
    }
    if (claim.status === "completed") {
      chain.done = undefined;
      report("hit");
      return decode<T>(claim.value);
    }
    if (claim.status === "acquired") {
      if (signal?.aborted) {
        release(claim.token);
        throw signal.reason;
      }
      if (claim.token !== token) chain.tokens.push(claim.token);
      if (o.clock.now() - claimedAt < o.leaseMs) return runHeld(claim.token);
      // The answer took longer than the lease: someone else may hold the key by now. Give it back, ask again later.
      release(claim.token);
    } else if (chain.done !== undefined) {
      // The work ran in this chain but another caller took the key over after the lease lapsed: the result is ours.
      const { value } = chain.done;
      chain.done = undefined;
      report("hit");
      return value as T;
    }
    const waited = o.clock.now() - started;
    if (waited + pollMs > o.waitMs) {
      report("conflict");
      throw new IdempotencyConflictError(key, waited);
    }
    await o.clock.sleep(pollMs, signal);
    pollMs = Math.min(pollMs * 2, 500);
  }
}

const callCounters = new WeakMap<object, Map<string, number>>();

/** Occurrence number of `name` within this node attempt, so two `runOnce(config, "email")` calls get two keys. */
function occurrence(config: RunnableConfig, name: string): number {
  let counts = callCounters.get(config);
  if (counts === undefined) {
    counts = new Map();
    callCounters.set(config, counts);
  }
  const n = counts.get(name) ?? 0;
  counts.set(name, n + 1);
  return n;
}

/**
 * Runs a side effect at most once per node task: on a retry, a resume after `interrupt()` or a resume after a
 * crash, the recorded result is returned instead of running `fn` again. Errors thrown by `fn` are not recorded.
 * @param config the config the node received
 * @param name names the side effect within the node
 * @example
 * const charge = await runOnce(config, "charge", () => payments.charge(order, { idempotencyKey: idempotencyKey(config, "charge") }));
 */
export async function runOnce<T>(config: RunnableConfig, name: string, fn: () => T | Promise<T>, options: RunOnceOptions = {}): Promise<T> {
  if (typeof name !== "string" || name === "") throw new TypeError("runOnce(config, name, fn): name must be a non-empty string");
  assertFunction(fn, "runOnce(config, name, fn): fn");
  const o = resolveBase(checkOptions<RunOnceOptions>(options, RUN_ONCE_OPTIONS, "runOnce(options)"));
  const key = `${idempotencyKey(config)}:run:${name}:${occurrence(config, name)}`;
  return runClaimed(key, name, o, config, async () => fn(), `runOnce(config, ${JSON.stringify(name)})`);
}

/** @internal Validates `withIdempotency` options (`where` names them in errors) and fills in defaults. */
export function resolveIdempotencyOptions(options: unknown, where = "withIdempotency(options)"): ResolvedIdempotency {
  return resolveBase(checkOptions<IdempotencyOptions>(options, IDEMPOTENCY_OPTIONS, where));
}

/**
 * Memoises a node's update per key: a second call with the same key returns the recorded update without running
 * the node; a concurrent duplicate waits for the first one's result. Default key: the node task
 * (`idempotencyKey(config)`); pass `key` to deduplicate by request id across threads.
 * @example
 * builder.addNode("create_ticket", withIdempotency(createTicket, { key: (s) => s.requestId }));
 */
export function withIdempotency<F extends NodeBound>(node: F, options?: IdempotencyOptions<StateOf<F>, ConfigOf<F>>): Wrapped<F> {
  return idempotentNode(node as unknown as NodeOf<F>, options) as Wrapped<F>;
}

/** @internal `withIdempotency` over the generic node shape, for composing. */
export function idempotentNode<S, U, C>(node: NodeFn<S, U, C>, options: IdempotencyOptions<S, C> = {}): WrappedNode<S, U, C> {
  assertFunction(node, "withIdempotency(node)");
  const o = resolveIdempotencyOptions(options);
  const keyOf = options.key;
  return markWrapper(async function idempotent(state: S, config: C): Promise<U> {
    const runConfig = config as RunnableConfig | undefined;
    let key: string;
    if (keyOf === undefined) {
      key = `${idempotencyKey(runConfig)}:node`;
    } else {
      const userKey = keyOf(state, config);
      if (typeof userKey !== "string" || userKey === "") {
        throw new TypeError("withIdempotency(options).key must return a non-empty string");
      }
      key = `node:${labelsOf(runConfig).node}:${userKey}`;
    }
    return runClaimed(
      key,
      "node",
      o,
      runConfig,
      async () => {
        try {
          return await callNode(node, state, config);
        } catch (error) {
          throw isGraphBubbleUp(error) ? error : toError(error);
        }
      },
      "withIdempotency",
    );
  });
}
