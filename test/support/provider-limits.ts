/**
 * A provider's own rate limits for the fake provider's `admit` hook, enforced as OpenAI enforces them: a per-minute
 * limit quantized into short fixed windows (600 requests/min as 10 per second), requests and tokens (prompt plus the
 * completion the fake reports) side by side. Past either, a 429 with OpenAI's headers: which budget is spent
 * (`x-ratelimit-remaining-*: 0`) and when its window resets (`x-ratelimit-reset-*`, `retry-after-ms`).
 */
import type { AdmitRequest, Fault } from "./fake-provider.js";

/** Completion tokens the fake provider reports for its default reply. */
const DEFAULT_OUTPUT_TOKENS = 7;

/** Options of {@link providerLimits}. */
export interface ProviderLimitOptions {
  requestsPerMinute: number;
  tokensPerMinute: number;
  /** The quantum the per-minute limits are enforced in. Default 1000 ms. */
  windowMs?: number;
  now?: () => number;
}

/** What the provider let through and refused. */
export interface ProviderLimits {
  admit(request: AdmitRequest): Fault | undefined;
  /** Times (ms) of the requests answered normally. */
  readonly accepted: number[];
  /** Times (ms) of the requests refused with a 429, and which budget was spent. */
  readonly rejected: Array<{ at: number; spent: "requests" | "tokens" }>;
  /** Accepted requests and 429s within [from, to). */
  between(from: number, to: number): { accepted: number; rejected: number };
  reset(): void;
}

/** Quantized request and token limits for `startFakeProvider({ admit })`. */
export function providerLimits(options: ProviderLimitOptions): ProviderLimits {
  const windowMs = options.windowMs ?? 1000;
  const now = options.now ?? Date.now;
  const requestLimit = Math.max(1, Math.floor((options.requestsPerMinute * windowMs) / 60_000));
  const tokenLimit = Math.max(1, Math.floor((options.tokensPerMinute * windowMs) / 60_000));
  let window = -1;
  let requests = 0;
  let tokens = 0;
  const accepted: number[] = [];
  const rejected: Array<{ at: number; spent: "requests" | "tokens" }> = [];
  return {
    accepted,
    rejected,
    admit(request) {
      const t = now();
      const w = Math.floor(t / windowMs);
      if (w !== window) {
        window = w;
        requests = 0;
        tokens = 0;
      }
      const cost = request.inputTokens + (request.maxTokens ?? DEFAULT_OUTPUT_TOKENS);
      const resetMs = Math.max(1, (w + 1) * windowMs - t);
      const spentRequests = requests + 1 > requestLimit;
      const spentTokens = tokens + cost > tokenLimit;
      if (spentRequests || spentTokens) {
        rejected.push({ at: t, spent: spentRequests ? "requests" : "tokens" });
        return {
          fault: "rate_limited",
          retryAfterMs: String(Math.ceil(resetMs)),
          limitRequests: options.requestsPerMinute,
          remainingRequests: spentRequests ? 0 : Math.max(0, requestLimit - requests),
          limitTokens: options.tokensPerMinute,
          remainingTokens: spentTokens ? 0 : Math.max(0, tokenLimit - tokens),
          resetRequests: `${Math.ceil(resetMs)}ms`,
          resetTokens: `${Math.ceil(resetMs)}ms`,
        };
      }
      requests += 1;
      tokens += cost;
      accepted.push(t);
      return undefined;
    },
    between(from, to) {
      return {
        accepted: accepted.filter((t) => t >= from && t < to).length,
        rejected: rejected.filter((r) => r.at >= from && r.at < to).length,
      };
    },
    reset() {
      accepted.length = 0;
      rejected.length = 0;
    },
  };
}
