/**
 * What the attempts of one node task run know about their own idempotency claims. The kit's `withRetry` and
 * LangGraph's `RetryPolicy` call the node again with a new config, but every attempt of one task run shares the
 * task's scratchpad object (`configurable.__pregel_scratchpad`, created once per task run), so it identifies the chain.
 * A config built by hand has no scratchpad; its `configurable` object stands in, and without either every call is a
 * chain of its own. Entries live as long as the chain's object (a WeakMap), so nothing outlives the task run.
 */
import type { RunnableConfig } from "@langchain/core/runnables";

/** What one chain knows about one key. */
export interface ChainEntry {
  /** Lease tokens the chain's claims on the key were sent with, oldest first. */
  readonly tokens: string[];
  /** The work an earlier attempt of the chain started and that has not settled yet (its attempt may have timed out). */
  running: Promise<unknown> | undefined;
  /** The result of work that ran to the end in this chain, kept until the store confirmed the record. */
  done: { value: unknown; text: string } | undefined;
}

/** Tokens kept per key: more than any retry policy makes attempts, few enough to send with every claim. */
const MAX_TOKENS = 32;
const SCRATCHPAD = "__pregel_scratchpad";
const chains = new WeakMap<object, Map<string, ChainEntry>>();

function chainObject(config: RunnableConfig | undefined): object | undefined {
  const configurable = config?.configurable as Record<string, unknown> | undefined;
  const scratchpad = configurable?.[SCRATCHPAD];
  if (typeof scratchpad === "object" && scratchpad !== null) return scratchpad;
  return typeof configurable === "object" && configurable !== null ? configurable : undefined;
}

/** @internal The chain's entry for `key`, created on first use. */
export function chainEntry(config: RunnableConfig | undefined, key: string): ChainEntry {
  const owner = chainObject(config);
  const fresh = (): ChainEntry => ({ tokens: [], running: undefined, done: undefined });
  if (owner === undefined) return fresh();
  let entries = chains.get(owner);
  if (entries === undefined) {
    entries = new Map();
    chains.set(owner, entries);
  }
  let entry = entries.get(key);
  if (entry === undefined) {
    entry = fresh();
    entries.set(key, entry);
  }
  return entry;
}

/** @internal Records `token` as sent by the chain; returns the earlier tokens a claim with it may supersede. */
export function nextClaim(entry: ChainEntry, token: string): readonly string[] {
  const supersedes = entry.tokens.slice();
  entry.tokens.push(token);
  if (entry.tokens.length > MAX_TOKENS) entry.tokens.shift();
  return supersedes;
}
