/** Backoff schedules as pure functions of the previous delay and a random source. */

/** How delays are randomised. */
export type Jitter = "decorrelated" | "full" | "none";

/** The numeric shape of a backoff schedule. */
export interface BackoffPolicy {
  minDelayMs: number;
  maxDelayMs: number;
  factor: number;
  jitter: Jitter;
}

/**
 * Delay before retry number `retry` (1 = the first retry).
 * - `none`: `minDelayMs × factor^(retry-1)`, capped at `maxDelayMs`.
 * - `full`: uniform in `[0, that]` (AWS "full jitter").
 * - `decorrelated`: uniform in `[minDelayMs, previous × factor × 1.5]`, capped (AWS "decorrelated jitter"; with the
 *   default factor 2 the upper bound is 3× the previous delay). Spreads retries of many callers without the
 *   synchronised waves of pure exponential backoff.
 * Every result lies in `[0, maxDelayMs]`, and in `[minDelayMs, maxDelayMs]` except with full jitter.
 */
export function backoffDelay(policy: BackoffPolicy, retry: number, previousDelayMs: number, random: () => number): number {
  const { minDelayMs, maxDelayMs, factor, jitter } = policy;
  if (jitter === "decorrelated") {
    const upper = Math.max(minDelayMs, previousDelayMs * factor * 1.5);
    return Math.min(maxDelayMs, minDelayMs + random() * (upper - minDelayMs));
  }
  const exponential = Math.min(maxDelayMs, minDelayMs * factor ** (retry - 1));
  return jitter === "full" ? random() * exponential : exponential;
}
