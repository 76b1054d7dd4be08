import { describe, expect, it } from "vitest";
import { RetriesExhaustedError, backoffDelay, langGraphRetryOn, withRetry, resilient } from "../src/index.js";
import { decideRetry } from "../src/resilience/retry.js";
import { resolveRetryOptions } from "../src/resilience/retry.js";
import { fakeClock, httpError, oneNodeGraph, threadConfig, type TestNode } from "./support/graph.js";

/** A node that throws `errors` in order, then succeeds; counts its calls. */
function flaky(errors: unknown[]) {
  const calls = { n: 0 };
  const node: TestNode = async () => {
    calls.n += 1;
    if (calls.n <= errors.length) throw errors[calls.n - 1];
    return { result: `ok after ${calls.n}` };
  };
  return { node, calls };
}

describe("withRetry on a compiled graph", () => {
  it("backs off exponentially without jitter and succeeds", async () => {
    const clock = fakeClock();
    const { node, calls } = flaky([httpError(503), httpError(503), httpError(503)]);
    const graph = oneNodeGraph(withRetry(node, { jitter: "none", clock }));
    const out = await graph.invoke({ requestId: "a" }, threadConfig());
    expect(out.result).toBe("ok after 4");
    expect(calls.n).toBe(4);
    expect(clock.sleeps).toEqual([200, 400, 800]);
  });

  it("caps delays at maxDelayMs", async () => {
    const clock = fakeClock();
    const { node } = flaky(Array.from({ length: 4 }, () => httpError(500)));
    const graph = oneNodeGraph(withRetry(node, { retries: 4, jitter: "none", maxDelayMs: 500, clock }));
    await graph.invoke({ requestId: "a" }, threadConfig());
    expect(clock.sleeps).toEqual([200, 400, 500, 500]);
  });

  it("uses decorrelated jitter by default, within [minDelayMs, maxDelayMs]", async () => {
    const clock = fakeClock();
    const { node } = flaky([httpError(502), httpError(502), httpError(502)]);
    const graph = oneNodeGraph(withRetry(node, { clock, random: () => 0.5 }));
    await graph.invoke({ requestId: "a" }, threadConfig());
    // upper bound grows from 3x minDelayMs: 200 + 0.5*(600-200) = 400; 200 + 0.5*(1200-200) = 700; 200 + 0.5*(2100-200) = 1150
    expect(clock.sleeps).toEqual([400, 700, 1150]);
  });

  it("full jitter draws from [0, exponential]", async () => {
    const clock = fakeClock();
    const { node } = flaky([httpError(503), httpError(503)]);
    await oneNodeGraph(withRetry(node, { jitter: "full", clock, random: () => 0.25 })).invoke({ requestId: "a" }, threadConfig());
    expect(clock.sleeps).toEqual([50, 100]);
  });

  it("stops before a wait would pass maxElapsedMs and throws RetriesExhaustedError", async () => {
    const clock = fakeClock();
    const { node, calls } = flaky(Array.from({ length: 10 }, () => httpError(503)));
    const graph = oneNodeGraph(withRetry(node, { retries: 9, jitter: "none", maxElapsedMs: 1000, clock }));
    const error = await graph.invoke({ requestId: "a" }, threadConfig()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as RetriesExhaustedError).attempts).toBe(3);
    expect(((error as RetriesExhaustedError).cause as unknown as { status: number }).status).toBe(503);
    expect(error).toMatchObject({ lastStatus: 503, lastReason: "server_error" });
    expect(calls.n).toBe(3);
    expect(clock.sleeps).toEqual([200, 400]); // 600 elapsed; an 800 ms wait would end at 1400 > 1000
  });

  it("gives up after `retries` additional attempts", async () => {
    const clock = fakeClock();
    const { node, calls } = flaky(Array.from({ length: 10 }, () => httpError(503)));
    const error = await oneNodeGraph(withRetry(node, { retries: 2, clock }))
      .invoke({ requestId: "a" }, threadConfig())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(calls.n).toBe(3);
  });

  it("waits exactly what Retry-After asks (2 s), not the backoff, and not capped by maxDelayMs", async () => {
    const clock = fakeClock();
    const { node, calls } = flaky([httpError(429, { "Retry-After": "2" })]);
    await oneNodeGraph(withRetry(node, { maxDelayMs: 500, clock })).invoke({ requestId: "a" }, threadConfig());
    expect(clock.sleeps).toEqual([2000]);
    expect(calls.n).toBe(2);
  });

  it("honours retry-after-ms over Retry-After, a Headers object, an HTTP date and x-ratelimit-reset-*", async () => {
    const clock = fakeClock(Date.parse("2026-01-01T00:00:00Z"));
    const errors = [
      httpError(429, { "retry-after-ms": "1500", "retry-after": "9" }),
      Object.assign(new Error("rate"), { status: 429, response: { status: 429, headers: new Headers({ "retry-after": "3" }) } }),
      httpError(503, { "retry-after": "Thu, 01 Jan 2026 00:00:10 GMT" }),
      httpError(429, { "x-ratelimit-reset-requests": "1m30s", "x-ratelimit-reset-tokens": "250ms" }),
    ];
    const { node } = flaky(errors);
    await oneNodeGraph(withRetry(node, { retries: 4, clock })).invoke({ requestId: "a" }, threadConfig());
    // date: 10 s after the clock's now at the third failure (1500 + 3000 ms already slept); reset: 90 s capped at 60 s
    expect(clock.sleeps).toEqual([1500, 3000, 10_000 - 4500, 60_000]);
  });

  it("caps a server delay at maxRetryAfterMs", async () => {
    const clock = fakeClock();
    const { node } = flaky([httpError(429, { "retry-after": "120" })]);
    await oneNodeGraph(withRetry(node, { maxRetryAfterMs: 5000, clock })).invoke({ requestId: "a" }, threadConfig());
    expect(clock.sleeps).toEqual([5000]);
  });

  it.each([
    ["400", httpError(400)],
    ["401", httpError(401)],
    ["404", httpError(404)],
    ["409", httpError(409)],
    ["422", httpError(422)],
    ["insufficient_quota", Object.assign(httpError(429), { code: "insufficient_quota" })],
    ["TypeError", new TypeError("cannot read x of undefined")],
    ["AbortError", Object.assign(new Error("aborted"), { name: "AbortError" })],
  ])("does not retry %s", async (_label, thrown) => {
    const clock = fakeClock();
    const { node, calls } = flaky([thrown]);
    const error = await oneNodeGraph(withRetry(node, { clock }))
      .invoke({ requestId: "a" }, threadConfig())
      .catch((e: unknown) => e);
    expect(error).toBe(thrown);
    expect(calls.n).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it.each([
    ["408", httpError(408)],
    ["429", httpError(429)],
    ["500", httpError(500)],
    ["503", httpError(503)],
    ["529 overloaded", httpError(529)],
    ["ECONNRESET", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })],
    ["fetch failed", new TypeError("fetch failed", { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) })],
    ["ETIMEDOUT", Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })],
    ["anthropic overloaded_error", Object.assign(new Error("Overloaded"), { error: { type: "overloaded_error" } })],
  ])("retries %s", async (_label, thrown) => {
    const clock = fakeClock();
    const { node, calls } = flaky([thrown]);
    const out = await oneNodeGraph(withRetry(node, { clock })).invoke({ requestId: "a" }, threadConfig());
    expect(out.result).toBe("ok after 2");
    expect(calls.n).toBe(2);
  });

  it("turns a thrown string into an Error before deciding, and keeps it as cause", async () => {
    const clock = fakeClock();
    const { node, calls } = flaky(["boom", "boom"]);
    const error = await oneNodeGraph(withRetry(node, { retries: 1, clock }))
      .invoke({ requestId: "a" }, threadConfig())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    const cause = (error as Error).cause as Error;
    expect(cause).toBeInstanceOf(Error);
    expect(cause.message).toContain("boom");
    expect(cause.cause).toBe("boom");
    expect(calls.n).toBe(2);
  });

  it("consults a custom retryOn", async () => {
    const clock = fakeClock();
    const { node, calls } = flaky([httpError(400), httpError(400)]);
    const out = await oneNodeGraph(withRetry(node, { clock, retryOn: (e) => (e as { status?: number }).status === 400 })).invoke(
      { requestId: "a" },
      threadConfig(),
    );
    expect(out.result).toBe("ok after 3");
    expect(calls.n).toBe(3);
  });

  it("returns a promise whatever the node does: sync value, sync throw, foreign thenable", async () => {
    const clock = fakeClock();
    const syncValue = withRetry(() => ({ result: "sync" }), { clock })({}, {});
    expect(syncValue).toBeInstanceOf(Promise);
    expect(await syncValue).toEqual({ result: "sync" });

    let syncCalls = 0;
    const syncThrow = withRetry(
      () => {
        syncCalls += 1;
        if (syncCalls === 1) throw httpError(503);
        return { result: `ok after ${syncCalls}` };
      },
      { clock },
    )({}, {});
    expect(syncThrow).toBeInstanceOf(Promise);
    expect(await syncThrow).toEqual({ result: "ok after 2" });

    const fatal = withRetry(
      () => {
        throw httpError(400);
      },
      { clock },
    )({}, {});
    expect(fatal).toBeInstanceOf(Promise);
    expect(((await fatal.catch((e: unknown) => e)) as { status?: number }).status).toBe(400);

    // A thenable that is not a native promise (another promise library) is retried like a promise.
    let thenableCalls = 0;
    const thenable = withRetry(
      () => {
        thenableCalls += 1;
        const n = thenableCalls;
        return {
          // biome-ignore lint/suspicious/noThenProperty: a thenable is what this test is about
          then(onOk: (v: { result: string }) => unknown, onErr: (e: unknown) => unknown) {
            return n === 1 ? onErr(httpError(503)) : onOk({ result: `thenable ${n}` });
          },
        } as unknown as Promise<{ result: string }>;
      },
      { clock },
    )({}, {});
    expect(await thenable).toEqual({ result: "thenable 2" });
    expect(clock.sleeps.length).toBe(2);
  });

  it("marks what it gave up on so LangGraph's RetryPolicy does not retry it again", async () => {
    const clock = fakeClock();
    const exhausted = await withRetry(
      async () => {
        throw httpError(503);
      },
      { retries: 1, clock },
    )({}, {}).catch((e: unknown) => e);
    expect(langGraphRetryOn(exhausted)).toBe(false);
    expect(langGraphRetryOn(httpError(503))).toBe(true);
    expect(langGraphRetryOn(httpError(400))).toBe(false);
  });
});

describe("retry schedule (pure)", () => {
  const policy = resolveRetryOptions({ jitter: "none", retries: 5, maxElapsedMs: 10_000 });

  it("never schedules past maxElapsedMs and never after abort", () => {
    for (let elapsed = 0; elapsed < 12_000; elapsed += 250) {
      for (let attempt = 1; attempt <= 6; attempt += 1) {
        const d = decideRetry(policy, httpError(503), attempt, elapsed, 200, false);
        if (d.retry) expect(elapsed + d.delayMs).toBeLessThanOrEqual(10_000);
        expect(decideRetry(policy, httpError(503), attempt, elapsed, 200, true).retry).toBe(false);
      }
    }
  });

  it("keeps every jittered delay within bounds", () => {
    const bounds = { minDelayMs: 100, maxDelayMs: 5000, factor: 2 };
    for (const jitter of ["decorrelated", "full", "none"] as const) {
      let previous = bounds.minDelayMs;
      for (let retry = 1; retry <= 50; retry += 1) {
        const d = backoffDelay({ ...bounds, jitter }, retry, previous, Math.random);
        expect(d).toBeGreaterThanOrEqual(jitter === "full" ? 0 : bounds.minDelayMs);
        expect(d).toBeLessThanOrEqual(bounds.maxDelayMs);
        previous = d;
      }
    }
  });

  it("resilient() retries inside the fallback and outside the breaker", async () => {
    const clock = fakeClock();
    const { node, calls } = flaky([httpError(503)]);
    const wrapped = resilient(node, { retry: { clock }, circuitBreaker: { name: "retry-order" }, timeout: 5000 });
    const out = await oneNodeGraph(wrapped).invoke({ requestId: "a" }, threadConfig());
    expect(out.result).toBe("ok after 2");
    expect(calls.n).toBe(2);
  });
});
