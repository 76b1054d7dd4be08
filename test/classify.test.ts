import { GraphInterrupt } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import {
  BulkheadRejectedError,
  CircuitOpenError,
  RetriesExhaustedError,
  TimeoutError,
  classifyError,
  retryAfterFromHeaders,
  toError,
} from "../src/index.js";
import { httpError } from "./support/graph.js";

describe("classifyError", () => {
  it.each([
    ["429", httpError(429), true, true, "rate_limited"],
    ["408", httpError(408), true, true, "timeout"],
    ["500", httpError(500), true, true, "server_error"],
    ["503 via statusCode", Object.assign(new Error("x"), { statusCode: 503 }), true, true, "server_error"],
    ["502 via response.status", Object.assign(new Error("x"), { response: { status: 502 } }), true, true, "server_error"],
    ["529", httpError(529), true, true, "overloaded"],
    ["400", httpError(400), false, false, "client_error"],
    ["407", httpError(407), false, false, "client_error"],
    ["409", httpError(409), false, false, "client_error"],
    ["422", httpError(422), false, false, "client_error"],
    ["insufficient_quota", Object.assign(httpError(429), { error: { code: "insufficient_quota" } }), false, false, "quota_exceeded"],
    ["ECONNRESET", Object.assign(new Error("reset"), { code: "ECONNRESET" }), true, true, "network"],
    ["fetch failed", new TypeError("fetch failed"), true, true, "network"],
    ["APIConnectionTimeoutError", Object.assign(new Error("t"), { name: "APIConnectionTimeoutError" }), true, true, "timeout"],
    ["TimeoutError", new TimeoutError(10), true, true, "timeout"],
    ["TypeError", new TypeError("x is not a function"), false, false, "programmer_error"],
    ["ReferenceError", new ReferenceError("y"), false, false, "programmer_error"],
    ["AbortError", Object.assign(new Error("The operation was aborted"), { name: "AbortError" }), false, false, "aborted"],
    ["GraphInterrupt", new GraphInterrupt([]), false, false, "control_flow"],
    ["CircuitOpenError", new CircuitOpenError("b", 100), false, false, "circuit_open"],
    ["BulkheadRejectedError", new BulkheadRejectedError(1, 0), true, false, "bulkhead_full"],
    ["RetriesExhaustedError", new RetriesExhaustedError(3, new Error("x")), false, false, "retries_exhausted"],
    ["plain Error", new Error("boom"), true, true, "unknown"],
  ])("%s", (_name, error, retryable, countsAsFailure, reason) => {
    expect(classifyError(error)).toMatchObject({ retryable, countsAsFailure, reason });
  });

  it("carries the server's delay", () => {
    expect(classifyError(httpError(429, { "retry-after": "7" })).retryAfterMs).toBe(7000);
    expect(classifyError(new CircuitOpenError("b", 1234)).retryAfterMs).toBe(1234);
  });
});

describe("retryAfterFromHeaders", () => {
  it.each([
    [{ "retry-after-ms": "250" }, 250],
    [{ "Retry-After": "3" }, 3000],
    [{ "retry-after": "1.5" }, 1500],
    [{ "x-ratelimit-reset-requests": "6m0s" }, 360_000],
    [{ "x-ratelimit-reset-tokens": "20ms" }, 20],
    [{ "x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "5s" }, 5000],
    [{ "retry-after": "soon" }, undefined],
    [{}, undefined],
  ])("%j → %s", (headers, expected) => {
    expect(retryAfterFromHeaders({ headers }, 0)).toBe(expected);
  });
});

describe("toError", () => {
  it("keeps Errors and wraps everything else with String(value) in the message", () => {
    const e = new Error("x");
    expect(toError(e)).toBe(e);
    expect(toError("boom").message).toContain("boom");
    expect(toError(undefined).message).toContain("undefined");
    const wrapped = toError({ status: 429, headers: { "retry-after": "1" } });
    expect(classifyError(wrapped).reason).toBe("rate_limited");
    expect(toError(Object.create(null)).message).toContain("[object Object]");
  });
});
