/**
 * Property tests (fast-check) of the breaker state machine and the retry schedule: arbitrary sequences of outcomes,
 * time steps and options, checked against the documented invariants rather than against examples.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CircuitOpenError, backoffDelay, createCircuitBreaker, RetriesExhaustedError, type RetryOptions, withRetry } from "../src/index.js";
import { decideRetry, resolveRetryOptions } from "../src/resilience/retry.js";
import { fakeClock, httpError } from "./support/graph.js";

type Step =
  | { kind: "call"; outcome: "success" | "failure" | "ignored" }
  | { kind: "burst"; size: number; probe: "success" | "failure" }
  | { kind: "tick"; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("call" as const), outcome: fc.constantFrom("success", "failure", "ignored") }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("burst" as const),
      size: fc.integer({ min: 2, max: 5 }),
      probe: fc.constantFrom("success", "failure"),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 400 }) }) },
);

const breakerOptions = fc.record({
  volumeThreshold: fc.integer({ min: 0, max: 8 }),
  errorThresholdPercentage: fc.integer({ min: 0, max: 99 }),
  resetTimeout: fc.integer({ min: 10, max: 300 }),
});

/** A call whose settlement the test controls, so several calls can be in flight at once. */
function deferred() {
  let settle!: (ok: boolean) => void;
  const promise = new Promise<string>((resolve, reject) => {
    settle = (ok) => (ok ? resolve("ok") : reject(httpError(503)));
  });
  return { promise, settle };
}

describe("circuit breaker state machine (fast-check)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("never opens below volumeThreshold or at or under the error percentage; rejects only while open; one probe in half-open", async () => {
    let id = 0;
    await fc.assert(
      fc.asyncProperty(breakerOptions, fc.array(step, { minLength: 1, maxLength: 60 }), async (options, steps) => {
        id += 1;
        // One rolling window far longer than the whole sequence: the counts below are exactly opossum's window.
        const breaker = createCircuitBreaker({ name: `prop-${id}`, rollingCountTimeout: 10_000_000, rollingCountBuckets: 1, ...options });
        let fires = 0;
        let failures = 0;
        let reached = 0;
        let openedFor = 0;
        const call = async (outcome: "success" | "failure" | "ignored") => {
          const before = breaker.state;
          fires += 1;
          const result = await breaker
            .execute(() => {
              reached += 1;
              if (outcome === "failure") throw httpError(503);
              if (outcome === "ignored") throw httpError(400);
              return "ok";
            })
            .then(
              () => "ok",
              (e: unknown) => e,
            );
          if (result instanceof CircuitOpenError) {
            // Rejections happen only while open, and say how long until the probe.
            expect(before).toBe("open");
            expect(result.retryAfterMs).toBeGreaterThanOrEqual(0);
            expect(result.retryAfterMs).toBeLessThanOrEqual(options.resetTimeout);
            return;
          }
          expect(before).not.toBe("open");
          if (outcome === "failure") failures += 1;
          const after = breaker.state;
          if (before === "closed" && after === "open") {
            // Opened from closed: only by a counted failure, at or past the volume, above the percentage.
            expect(outcome).toBe("failure");
            expect(fires).toBeGreaterThanOrEqual(options.volumeThreshold);
            expect((failures / fires) * 100).toBeGreaterThan(options.errorThresholdPercentage);
            openedFor = 0;
          }
          if (outcome !== "failure") expect(after === "open" && before !== "open").toBe(false);
          if (before === "half_open") expect(after).toBe(outcome === "failure" ? "open" : "closed");
          // A failed probe re-opens the breaker: its reset timeout starts again.
          if (after === "open" && before !== "open") openedFor = 0;
        };
        try {
          for (const s of steps) {
            if (s.kind === "call") await call(s.outcome);
            else if (s.kind === "tick") {
              const before = breaker.state;
              await vi.advanceTimersByTimeAsync(s.ms);
              if (before === "open") openedFor += s.ms;
              if (before === "open" && openedFor >= options.resetTimeout) expect(breaker.state).toBe("half_open");
              if (before === "closed") expect(breaker.state).toBe("closed");
            } else {
              const before = breaker.state;
              const reachedBefore = reached;
              const probes: Array<ReturnType<typeof deferred>> = [];
              const calls = Array.from({ length: s.size }, () => {
                fires += 1;
                return breaker
                  .execute(() => {
                    reached += 1;
                    const d = deferred();
                    probes.push(d);
                    return d.promise;
                  })
                  .then(
                    () => "ok",
                    (e: unknown) => e,
                  );
              });
              await Promise.resolve();
              const through = reached - reachedBefore;
              if (before === "half_open") expect(through).toBe(1);
              else if (before === "open") expect(through).toBe(0);
              else expect(through).toBe(s.size);
              for (const d of probes) d.settle(s.probe === "success");
              const results = await Promise.all(calls);
              const rejected = results.filter((r) => r instanceof CircuitOpenError).length;
              expect(rejected).toBe(s.size - through);
              if (s.probe === "failure") failures += through;
              if (before === "half_open") expect(breaker.state).toBe(s.probe === "success" ? "closed" : "open");
              if (breaker.state === "open" && before !== "open") openedFor = 0;
            }
          }
        } finally {
          breaker.shutdown();
        }
      }),
      { numRuns: 150 },
    );
  });

  it("errors that do not count as failures (4xx) never open the breaker", async () => {
    let id = 0;
    await fc.assert(
      fc.asyncProperty(breakerOptions, fc.array(fc.constantFrom("success", "ignored"), { maxLength: 50 }), async (options, outcomes) => {
        id += 1;
        const breaker = createCircuitBreaker({ name: `ignored-${id}`, ...options });
        try {
          for (const outcome of outcomes) {
            await breaker
              .execute(() => {
                if (outcome === "ignored") throw httpError(422);
                return "ok";
              })
              .catch(() => undefined);
            expect(breaker.state).toBe("closed");
          }
        } finally {
          breaker.shutdown();
        }
      }),
      { numRuns: 100 },
    );
  });
});

const retryOptions = fc
  .record({
    retries: fc.integer({ min: 0, max: 10 }),
    minDelayMs: fc.integer({ min: 0, max: 2_000 }),
    spread: fc.integer({ min: 0, max: 60_000 }),
    factor: fc.double({ min: 1, max: 10, noNaN: true }),
    jitter: fc.constantFrom("decorrelated" as const, "full" as const, "none" as const),
    maxElapsedMs: fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: undefined }),
    maxRetryAfterMs: fc.integer({ min: 0, max: 120_000 }),
  })
  .map(({ spread, ...o }) => ({ ...o, maxDelayMs: o.minDelayMs + spread }) satisfies RetryOptions);

describe("retry schedule (fast-check)", () => {
  it("backoffDelay stays within [minDelayMs, maxDelayMs] ([0, maxDelayMs] with full jitter)", () => {
    fc.assert(
      fc.property(
        retryOptions,
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (o, retry, previous, r) => {
          const delay = backoffDelay(o, retry, previous, () => r);
          expect(delay).toBeLessThanOrEqual(o.maxDelayMs);
          expect(delay).toBeGreaterThanOrEqual(o.jitter === "full" ? 0 : o.minDelayMs);
        },
      ),
    );
  });

  it("decideRetry: never after abort, never past retries or maxElapsedMs, Retry-After exact and capped", () => {
    fc.assert(
      fc.property(
        retryOptions,
        fc.integer({ min: 1, max: 15 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (o, attempt, elapsed, aborted, retryAfterSeconds, r) => {
          const policy = resolveRetryOptions({ ...o, random: () => r });
          const headers: Record<string, string> = retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) };
          const decision = decideRetry(policy, httpError(503, headers), attempt, elapsed, policy.minDelayMs, aborted);
          if (aborted || attempt > o.retries) {
            expect(decision.retry).toBe(false);
            return;
          }
          if (!decision.retry) {
            // Only the budget may stop a retryable error with attempts left.
            expect(o.maxElapsedMs).toBeDefined();
            expect(decision.exhausted).toBe(true);
            return;
          }
          expect(elapsed + decision.delayMs).toBeLessThanOrEqual(o.maxElapsedMs ?? Number.POSITIVE_INFINITY);
          if (retryAfterSeconds !== undefined) {
            expect(decision.serverDelay).toBe(true);
            expect(decision.delayMs).toBe(Math.min(retryAfterSeconds * 1000, o.maxRetryAfterMs));
          } else {
            expect(decision.serverDelay).toBe(false);
            expect(decision.delayMs).toBeLessThanOrEqual(o.maxDelayMs);
            expect(decision.delayMs).toBeGreaterThanOrEqual(o.jitter === "full" ? 0 : o.minDelayMs);
          }
        },
      ),
    );
  });

  it("decideRetry never retries errors that are not retryable, whatever the options", () => {
    fc.assert(
      fc.property(retryOptions, fc.constantFrom(400, 401, 403, 404, 409, 422), fc.integer({ min: 1, max: 5 }), (o, status, attempt) => {
        const decision = decideRetry(resolveRetryOptions(o), httpError(status), attempt, 0, o.minDelayMs, false);
        expect(decision.retry).toBe(false);
      }),
    );
  });

  it("withRetry end to end: attempts ≤ retries + 1, total wait ≤ maxElapsedMs, no attempt after an abort", async () => {
    await fc.assert(
      fc.asyncProperty(
        retryOptions,
        fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        async (o, abortAtAttempt, r) => {
          const clock = fakeClock(1_000);
          const controller = new AbortController();
          let attempts = 0;
          let attemptsAfterAbort = 0;
          const node = async () => {
            attempts += 1;
            if (controller.signal.aborted) attemptsAfterAbort += 1;
            if (attempts === abortAtAttempt) controller.abort();
            throw httpError(503);
          };
          const wrapped = withRetry(node, { ...o, clock, random: () => r });
          const error = await wrapped({}, { signal: controller.signal }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(Error);
          expect(attemptsAfterAbort).toBe(0);
          expect(attempts).toBeLessThanOrEqual(o.retries + 1);
          if (abortAtAttempt !== undefined && abortAtAttempt <= attempts) expect(attempts).toBe(abortAtAttempt);
          const waited = clock.sleeps.reduce((a, b) => a + b, 0);
          expect(waited).toBeLessThanOrEqual(o.maxElapsedMs ?? Number.POSITIVE_INFINITY);
          for (const d of clock.sleeps) expect(d).toBeLessThanOrEqual(o.maxDelayMs);
          if (!controller.signal.aborted && attempts === o.retries + 1) expect(error).toBeInstanceOf(RetriesExhaustedError);
        },
      ),
      { numRuns: 200 },
    );
  });
});
