/** Fault injection for the demo's fake model and payments API: rate limits, 5xx bursts, hangs and an outage. */

/** What a call to a faulty dependency does. */
export type Fault =
  | { kind: "ok" }
  | { kind: "rate_limit"; retryAfterSeconds: number }
  | { kind: "server_error"; status: number }
  | { kind: "hang" };

/** Named fault profiles, chosen with `--faults`. */
export type FaultProfile = "none" | "mixed" | "outage";

/** Probabilities per call, plus an outage window as fractions of the run. */
interface ProfileSpec {
  rateLimit: number;
  serverError: number;
  hang: number;
  burstEvery: number;
  outage?: { from: number; to: number };
}

const PROFILES: Record<FaultProfile, ProfileSpec> = {
  none: { rateLimit: 0, serverError: 0, hang: 0, burstEvery: 0 },
  mixed: { rateLimit: 0.04, serverError: 0.06, hang: 0.02, burstEvery: 40, outage: { from: 0.35, to: 0.55 } },
  outage: { rateLimit: 0, serverError: 0, hang: 0, burstEvery: 0, outage: { from: 0.2, to: 0.7 } },
};

/** Decides each call's fault from the profile, the time into the run and an injected random source. */
export class FaultInjector {
  readonly #spec: ProfileSpec;
  readonly #startedAt: number;
  readonly #durationMs: number;
  readonly #random: () => number;
  #calls = 0;
  #burstLeft = 0;

  constructor(profile: FaultProfile, durationMs: number, random: () => number = Math.random, now: () => number = Date.now) {
    this.#spec = PROFILES[profile];
    this.#startedAt = now();
    this.#durationMs = durationMs;
    this.#random = random;
    this.now = now;
  }

  readonly now: () => number;

  /** Whether the dependency is in its outage window right now. */
  inOutage(): boolean {
    const o = this.#spec.outage;
    if (o === undefined) return false;
    const progress = (this.now() - this.#startedAt) / this.#durationMs;
    return progress >= o.from && progress < o.to;
  }

  /** The fault for the next call. */
  next(): Fault {
    this.#calls += 1;
    if (this.inOutage()) return { kind: "server_error", status: 503 };
    const s = this.#spec;
    if (s.burstEvery > 0 && this.#calls % s.burstEvery === 0) this.#burstLeft = 3;
    if (this.#burstLeft > 0) {
      this.#burstLeft -= 1;
      return { kind: "server_error", status: 502 };
    }
    const r = this.#random();
    if (r < s.rateLimit) return { kind: "rate_limit", retryAfterSeconds: 1 };
    if (r < s.rateLimit + s.serverError) return { kind: "server_error", status: 500 };
    if (r < s.rateLimit + s.serverError + s.hang) return { kind: "hang" };
    return { kind: "ok" };
  }
}

/** The error a provider SDK would throw for `fault`. */
export function faultError(fault: Exclude<Fault, { kind: "ok" } | { kind: "hang" }>): Error {
  if (fault.kind === "rate_limit") {
    return Object.assign(new Error("429 Rate limit reached for requests"), {
      status: 429,
      headers: { "retry-after": String(fault.retryAfterSeconds) },
    });
  }
  return Object.assign(new Error(`${fault.status} The server had an error while processing your request`), { status: fault.status });
}
