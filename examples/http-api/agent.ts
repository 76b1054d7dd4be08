/**
 * The API's agent: the shared ReAct graph with its call-model node made resilient and the compiled graph
 * instrumented for metrics, traces and logs.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { MemorySaver } from "@langchain/langgraph";
import type { Logger } from "pino";
import {
  type BreakerStore,
  type CircuitBreaker,
  type Metrics,
  type SemaphoreStore,
  type ThreadLockStore,
  createCircuitBreaker,
  guardThreads,
  InMemoryThreadLockStore,
  instrument,
  resilient,
} from "../../src/index.js";
import { agentBuilder, callModelNode } from "../shared/agent.js";

/** Options of {@link buildApiAgent}. */
export interface ApiAgentOptions {
  model: BaseChatModel;
  metrics: Metrics;
  logger: Logger;
  /** Breaker settings; the defaults suit a real provider. One live breaker per name: give other settings another name. */
  breaker?: { name?: string; volumeThreshold?: number; resetTimeout?: number };
  /** Retries per model call. Default 2. */
  retries?: number;
  /**
   * Where thread leases live. Default: in this process; across replicas use `PostgresThreadLockStore` (from
   * `langgraph-ops/postgres`) or `RedisThreadLockStore` (from `langgraph-ops/redis`).
   */
  threadLocks?: ThreadLockStore;
  /**
   * Where the breaker's state lives. Default: in this process; across replicas `RedisBreakerStore` (from
   * `langgraph-ops/redis`) opens it fleet-wide and lets one replica probe.
   */
  breakerStore?: BreakerStore;
  /** Fleet-wide model concurrency: at most `limit` model calls at once across every replica sharing `store`. */
  modelSlots?: { store: SemaphoreStore; limit: number };
}

/** The instrumented graph and the provider's breaker (which `/readyz` watches). */
export function buildApiAgent(options: ApiAgentOptions) {
  const breaker: CircuitBreaker = createCircuitBreaker({
    name: options.breaker?.name ?? "openai",
    volumeThreshold: options.breaker?.volumeThreshold ?? 10,
    resetTimeout: options.breaker?.resetTimeout ?? 30_000,
    ...(options.breakerStore === undefined ? {} : { store: options.breakerStore }),
  });
  const callModel = resilient(callModelNode(options.model), {
    timeout: 30_000,
    retry: { retries: options.retries ?? 2, minDelayMs: 200, maxElapsedMs: 20_000 },
    circuitBreaker: breaker,
    // Calls beyond the fleet's slots wait (up to 64 per replica) rather than fail.
    ...(options.modelSlots === undefined
      ? {}
      : { bulkhead: { name: "openai", limit: options.modelSlots.limit, queue: 64, store: options.modelSlots.store } }),
  });
  // MemorySaver keeps conversations per thread_id in this process; use a Postgres checkpointer across replicas.
  const compiled = agentBuilder(callModel).compile({ checkpointer: new MemorySaver() });
  // One run per conversation: a second message while the first is answered gets ThreadBusyError (409 in app.ts).
  const guarded = guardThreads(compiled, { store: options.threadLocks ?? new InMemoryThreadLockStore(), strategy: "reject" });
  const graph = instrument(guarded, { metrics: options.metrics, tracing: true, logger: options.logger, name: "weather-agent" });
  return { graph, breaker };
}
