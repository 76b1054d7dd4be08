/**
 * langgraph-ops: production kit for LangGraph.js agents.
 * @packageDocumentation
 */
export { withTimeout, type TimeoutOptions } from "./resilience/timeout.js";
export { withRetry, type RetryOptions, type RetryPolicyResolved } from "./resilience/retry.js";
export { backoffDelay, type BackoffPolicy, type Jitter } from "./resilience/backoff.js";
export {
  createCircuitBreaker,
  withCircuitBreaker,
  type CircuitBreaker,
  type CircuitBreakerOptions,
} from "./resilience/circuit-breaker.js";
export {
  withIdempotency,
  runOnce,
  idempotencyKey,
  type IdempotencyOptions,
  type IdempotencyBaseOptions,
  type RunOnceOptions,
} from "./resilience/idempotency.js";
export {
  InMemoryIdempotencyStore,
  setDefaultIdempotencyStore,
  getDefaultIdempotencyStore,
  type IdempotencyStore,
  type ClaimResult,
  type ClaimOptions,
  type InMemoryIdempotencyStoreOptions,
} from "./resilience/idempotency-store.js";
export { withFallback, type FallbackFn } from "./resilience/fallback.js";
export { withBulkhead, type BulkheadOptions } from "./resilience/bulkhead.js";
export {
  LocalBreakerStore,
  type BreakerLink,
  type BreakerLinkOptions,
  type BreakerSettings,
  type BreakerStore,
  type ProbeGrant,
  type SharedBreakerView,
} from "./resilience/breaker-store.js";
export { InMemorySemaphoreStore, type SemaphoreStore } from "./resilience/semaphore-store.js";
export {
  createRateLimiter,
  withRateLimit,
  type AcquireOptions,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitPermit,
} from "./resilience/rate-limit.js";
export {
  InMemoryRateLimitStore,
  type RateLimitAcquire,
  type RateLimitDecision,
  type RateLimitRule,
  type RateLimitStore,
} from "./resilience/rate-limit-store.js";
export { estimatePromptTokens, usageTokensOf } from "./resilience/rate-limit-usage.js";
export { resilient, type ResilientOptions } from "./resilience/compose.js";
export { classifyError, langGraphRetryOn, type ErrorClassification } from "./resilience/classify.js";
export { ERROR_REASONS, type ErrorReason } from "./core/reasons.js";
export { errorTypeName } from "./resilience/error-fields.js";
export { NESTED_RETRIES_WARNING_CODE } from "./observability/nested-retries.js";
export { resilientModel, type ResilientModelOptions } from "./agents/resilient-model.js";
export type { CallPolicyOptions, CallBreakerOptions, CallRateLimitOptions } from "./agents/call-policy.js";
export { retryAfterFromHeaders } from "./resilience/retry-after.js";
export {
  TimeoutError,
  CircuitOpenError,
  RetriesExhaustedError,
  IdempotencyConflictError,
  IdempotencyStoreError,
  BulkheadRejectedError,
  RateLimitedError,
  toError,
} from "./resilience/errors.js";
export { systemClock } from "./resilience/clock.js";
export type {
  Clock,
  NodeFn,
  WrappedNode,
  AnyNode,
  NodeBound,
  StateOf,
  ConfigOf,
  UpdateOf,
  Wrapped,
  WrappedWithFallback,
  FallbackUpdateOf,
  NodeOf,
} from "./resilience/types.js";
export {
  CHANNELS,
  GRAPH_NAME_METADATA_KEY,
  TOOL_NAME_METADATA_KEY,
  subscribe,
  labelsOf,
  type ChannelName,
  type ChannelPayloads,
  type NodeEventBase,
  type RetryEvent,
  type RetriesExhaustedEvent,
  type TimeoutEvent,
  type FallbackEvent,
  type BulkheadRejectedEvent,
  type BreakerState,
  type BreakerCreatedEvent,
  type BreakerStateChangeEvent,
  type BreakerRejectedEvent,
  type IdempotencyEvent,
  type ThreadLockEvent,
  type ThreadLockOutcome,
  type TraceExportEvent,
  type StoreErrorEvent,
} from "./core/events.js";
export {
  createMetrics,
  DURATION_BUCKETS,
  CHECKPOINT_DURATION_BUCKETS,
  CHECKPOINT_SIZE_BUCKETS,
  GEN_AI_DURATION_BUCKETS,
  GEN_AI_TOKEN_BUCKETS,
  THREAD_LOCK_WAIT_BUCKETS,
  type Metrics,
  type CreateMetricsOptions,
} from "./observability/metrics.js";
export { PRICE_TOKEN_TYPES, type ModelPrice, type Prices, type PriceTokenType } from "./observability/prices.js";
export { RUN_COST_BUCKETS } from "./observability/series.js";
export { MAX_LABEL_LENGTH, OTHER_LABEL, TRUNCATED_MARKER } from "./observability/label-guard.js";
export type { GraphRunStatus, NodeStatus } from "./observability/metrics-handler.js";
export { InstrumentCallbackHandler } from "./observability/instrument-handler.js";
export { instrument, type InstrumentOptions, type InstrumentableGraph } from "./observability/instrument.js";
export { instrumentCheckpointer, type InstrumentCheckpointerOptions } from "./observability/checkpointer.js";
export {
  serveMetrics,
  type ServeMetricsOptions,
  type MetricsServer,
  type MetricsAuth,
  type ReadinessCheck,
  type ReadinessOptions,
} from "./server/serve.js";
export { writeMetrics } from "./observability/exposition.js";
export { serveClusterMetrics, type ServeClusterMetricsOptions } from "./server/cluster.js";
// @metrics-exports
export { guardThreads, type GuardThreadsOptions, type GuardableGraph, type ThreadStrategy } from "./threads/guard.js";
export { ThreadBusyError, ThreadInterruptedError, ThreadLeaseLostError } from "./threads/errors.js";
export {
  InMemoryThreadLockStore,
  type InMemoryThreadLockStoreOptions,
  type ThreadLockStore,
  type ThreadLockMessage,
  type AcquireResult,
} from "./threads/lock-store.js";
export { createTracingHandler, type TracingOptions, type MaskFn } from "./observability/tracing/handler.js";
export { composeMasks, defaultMask } from "./observability/tracing/content.js";
export { withNodeContext } from "./observability/tracing/bridge.js";
export { openRunCount, sweepAbandoned } from "./observability/tracing/registry.js";
export { createLogger, createLoggingHandler, DEFAULT_REDACT_PATHS, type CreateLoggerOptions } from "./observability/logging.js";
// @tracing-exports
