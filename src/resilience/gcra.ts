/**
 * The arithmetic of the rate limiter: GCRA (the generic cell rate algorithm) with reservations, for requests and
 * tokens side by side. A limiter's whole state is two "theoretical arrival times" (when the budget would be spent if
 * every reserved unit had arrived at the steady rate). A call conforms when, after adding its cost, the arrival time
 * is at most one burst ahead of now; otherwise it is told how long to wait, and a caller that will wait reserves its
 * place (the arrival time moves on), so waiters are served in order and each acquire is one read-modify-write.
 * `RedisRateLimitStore` runs the same steps in Lua on the server's clock; keep the two in step.
 */

/** The limits of one limiter, in the units the algorithm works in. */
export interface GcraRule {
  /** Milliseconds per request at the steady rate (60_000 / requestsPerMinute); 0 = no request limit. */
  readonly requestIntervalMs: number;
  /** How far ahead of now the request arrival time may be: burst × interval, in ms. */
  readonly requestBurstMs: number;
  /** Milliseconds per token at the steady rate (60_000 / tokensPerMinute); 0 = no token limit. */
  readonly tokenIntervalMs: number;
  /** How far ahead of now the token arrival time may be: tokenBurst × interval, in ms. */
  readonly tokenBurstMs: number;
}

/** A limiter's state: the theoretical arrival times of requests and tokens (ms on the store's clock). */
export interface GcraState {
  requestTat: number;
  tokenTat: number;
}

/** What an acquire decided. */
export interface GcraDecision {
  /** True when the call may go (after `waitMs`); false when it would have to wait longer than allowed. */
  granted: boolean;
  /** Granted: how long to wait before calling. Refused: how long until the call would conform. */
  waitMs: number;
  /** Requests that could go at once after this decision (undefined without a request limit). */
  requestsAvailable: number | undefined;
  /** Tokens that could be spent at once after this decision (undefined without a token limit). */
  tokensAvailable: number | undefined;
}

function available(tat: number, now: number, intervalMs: number, burstMs: number): number | undefined {
  if (intervalMs <= 0) return undefined;
  return Math.max(0, Math.floor((now + burstMs - Math.max(tat, now)) / intervalMs));
}

/**
 * One acquire of one request costing `tokens`, at `now`, waiting at most `maxWaitMs`. Mutates `state` only when it
 * grants (a refused call leaves no trace, so refusals cannot starve the callers that wait).
 */
export function gcraAcquire(state: GcraState, rule: GcraRule, now: number, tokens: number, maxWaitMs: number): GcraDecision {
  let wait = 0;
  let requestTat = state.requestTat;
  let tokenTat = state.tokenTat;
  if (rule.requestIntervalMs > 0) {
    requestTat = Math.max(requestTat, now) + rule.requestIntervalMs;
    wait = Math.max(wait, requestTat - rule.requestBurstMs - now);
  }
  if (rule.tokenIntervalMs > 0 && tokens > 0) {
    tokenTat = Math.max(tokenTat, now) + tokens * rule.tokenIntervalMs;
    wait = Math.max(wait, tokenTat - rule.tokenBurstMs - now);
  }
  const waitMs = Math.ceil(wait);
  if (waitMs > maxWaitMs) {
    return {
      granted: false,
      waitMs,
      requestsAvailable: available(state.requestTat, now, rule.requestIntervalMs, rule.requestBurstMs),
      tokensAvailable: available(state.tokenTat, now, rule.tokenIntervalMs, rule.tokenBurstMs),
    };
  }
  state.requestTat = requestTat;
  state.tokenTat = tokenTat;
  return {
    granted: true,
    waitMs,
    requestsAvailable: available(requestTat, now, rule.requestIntervalMs, rule.requestBurstMs),
    tokensAvailable: available(tokenTat, now, rule.tokenIntervalMs, rule.tokenBurstMs),
  };
}

/**
 * Charges (positive) or refunds (negative) requests and tokens after the fact: the real usage of a call that reserved
 * an estimate, or the reservation of a call that never went out.
 */
export function gcraAdjust(state: GcraState, rule: GcraRule, now: number, requests: number, tokens: number): void {
  if (rule.requestIntervalMs > 0 && requests !== 0) {
    state.requestTat =
      requests > 0
        ? Math.max(state.requestTat, now) + requests * rule.requestIntervalMs
        : state.requestTat + requests * rule.requestIntervalMs;
  }
  if (rule.tokenIntervalMs > 0 && tokens !== 0) {
    state.tokenTat =
      tokens > 0 ? Math.max(state.tokenTat, now) + tokens * rule.tokenIntervalMs : state.tokenTat + tokens * rule.tokenIntervalMs;
  }
}

/**
 * A provider said "no more until the reset" (a 429): nothing conforms before `now + requestsMs` (requests) or
 * `now + tokensMs` (tokens); a negative delay leaves that side as it is. Only ever tightens.
 */
export function gcraBlock(state: GcraState, rule: GcraRule, now: number, requestsMs: number, tokensMs: number): void {
  if (rule.requestIntervalMs > 0 && requestsMs >= 0) {
    state.requestTat = Math.max(state.requestTat, now + requestsMs + rule.requestBurstMs - rule.requestIntervalMs);
  }
  if (rule.tokenIntervalMs > 0 && tokensMs >= 0) {
    state.tokenTat = Math.max(state.tokenTat, now + tokensMs + rule.tokenBurstMs);
  }
}
