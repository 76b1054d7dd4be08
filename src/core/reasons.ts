/**
 * The classification reasons: written once here, used as the `reason` label of retry metrics, in span and log
 * attributes, and in the README's classification table (a test checks the table against this list).
 */
export const ERROR_REASONS = [
  "rate_limited",
  "server_error",
  "overloaded",
  "timeout",
  "network",
  "circuit_open",
  "bulkhead_full",
  "throttled",
  "retries_exhausted",
  "context_overflow",
  "auth",
  "client_error",
  "quota_exceeded",
  "aborted",
  "programmer_error",
  "control_flow",
  "unknown",
] as const;

/** Low-cardinality reason for an error; safe to use as a metric label. */
export type ErrorReason = (typeof ERROR_REASONS)[number];
