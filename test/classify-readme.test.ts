import { readFileSync } from "node:fs";
import * as AnthropicSdk from "@anthropic-ai/sdk";
import { ContextOverflowError, ModelAbortError, ModelRefusalError } from "@langchain/core/errors";
import { GraphInterrupt } from "@langchain/langgraph";
import * as OpenAISdk from "openai";
import { describe, expect, it } from "vitest";
import {
  BulkheadRejectedError,
  CircuitOpenError,
  ERROR_REASONS,
  type ErrorReason,
  RateLimitedError,
  RetriesExhaustedError,
  TimeoutError,
  classifyError,
} from "../src/index.js";

/** The README's classification table: one row per reason with its retryable and breaker-failure columns. */
function readmeTable(): Map<string, { retryable: boolean; countsAsFailure: boolean }> {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("### Error classification"), readme.indexOf("### Combining with LangGraph"));
  const rows = new Map<string, { retryable: boolean; countsAsFailure: boolean }>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    // "| error | retryable | failure | `reason` |" splits into ["", error, retryable, failure, reason, ""]
    const reason = /^`([a-z_]+)`$/.exec(cells[4] ?? "")?.[1];
    if (cells.length !== 6 || reason === undefined) continue;
    const yes = (cell: string | undefined) => /^yes\b/.test(cell ?? "");
    expect(rows.has(reason), `README lists ${reason} twice`).toBe(false);
    rows.set(reason, { retryable: yes(cells[2]), countsAsFailure: yes(cells[3]) });
  }
  return rows;
}

const headers = (h: Record<string, string> = {}) => new Headers(h);
const openai = (status: number, type: string, code: string | null, h?: Record<string, string>) =>
  OpenAISdk.APIError.generate(status, { error: { message: "m", type, param: null, code } }, "m", headers(h));
const anthropic = (status: number, type: string, message = "m") =>
  AnthropicSdk.APIError.generate(status, { type: "error", error: { type, message } }, message, headers());
const socket = (code: string) => Object.assign(new Error("other side closed"), { name: "SocketError", code });

/** Errors the real clients (and the kit) throw, per reason. A new reason fails typecheck until it has examples. */
const EXAMPLES: Record<ErrorReason, unknown[]> = {
  rate_limited: [openai(429, "requests", "rate_limit_exceeded", { "retry-after": "1" }), anthropic(429, "rate_limit_error")],
  server_error: [openai(500, "server_error", null), openai(502, "server_error", null), anthropic(503, "api_error")],
  overloaded: [
    anthropic(529, "overloaded_error"),
    new AnthropicSdk.APIError(
      undefined,
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      "Overloaded",
      undefined,
    ),
  ],
  timeout: [
    new TimeoutError(100),
    new OpenAISdk.APIConnectionTimeoutError(),
    new AnthropicSdk.APIConnectionTimeoutError(),
    new DOMException("signal timed out", "TimeoutError"),
    Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" }),
  ],
  network: [
    new OpenAISdk.APIConnectionError({ cause: new TypeError("fetch failed", { cause: socket("UND_ERR_SOCKET") }) }),
    new AnthropicSdk.APIConnectionError({ cause: new TypeError("fetch failed", { cause: socket("ECONNRESET") }) }),
    Object.assign(new Error("getaddrinfo EAI_AGAIN"), { code: "EAI_AGAIN" }),
  ],
  circuit_open: [new CircuitOpenError("provider", 1000)],
  bulkhead_full: [new BulkheadRejectedError(2, 0)],
  throttled: [new RateLimitedError("openai", 250, 0)],
  retries_exhausted: [new RetriesExhaustedError(3, openai(503, "server_error", null), "server_error")],
  context_overflow: [
    ContextOverflowError.fromError(openai(400, "invalid_request_error", "context_length_exceeded")),
    openai(400, "invalid_request_error", "context_length_exceeded"),
    anthropic(400, "invalid_request_error", "prompt is too long: 215734 tokens > 200000 maximum"),
  ],
  auth: [
    openai(401, "invalid_request_error", "invalid_api_key"),
    anthropic(401, "authentication_error"),
    anthropic(403, "permission_error"),
  ],
  client_error: [openai(400, "invalid_request_error", "invalid_value"), anthropic(404, "not_found_error"), new ModelRefusalError("no")],
  quota_exceeded: [
    openai(429, "insufficient_quota", "insufficient_quota"),
    anthropic(400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API."),
  ],
  aborted: [
    new OpenAISdk.APIUserAbortError(),
    new AnthropicSdk.APIUserAbortError(),
    new ModelAbortError("stop"),
    new DOMException("x", "AbortError"),
  ],
  programmer_error: [new TypeError("x is not a function"), new ReferenceError("y")],
  control_flow: [new GraphInterrupt([])],
  unknown: [new Error("boom"), "a string"],
};

describe("the README's classification table", () => {
  const table = readmeTable();

  it("has one row for each reason in ERROR_REASONS and no other", () => {
    expect([...table.keys()].sort()).toEqual([...ERROR_REASONS].sort());
  });

  it.each(ERROR_REASONS.map((reason) => [reason]))("agrees with classifyError for %s", (reason) => {
    const row = table.get(reason);
    expect(row).toBeDefined();
    expect(EXAMPLES[reason].length).toBeGreaterThan(0);
    for (const error of EXAMPLES[reason]) {
      expect(classifyError(error)).toMatchObject({ reason, retryable: row?.retryable, countsAsFailure: row?.countsAsFailure });
    }
  });
});
