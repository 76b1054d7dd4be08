/**
 * The rate limiter on one process and on a real Redis: GCRA spacing and bursts, waiting and refusing, aborts, token
 * reservations settled from usage, a provider 429 blocking the limiter, the retry budget bounding the wait, the
 * metrics, and the local fallback while the store is unreachable.
 */
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import * as OpenAISdk from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHANNELS,
  createMetrics,
  createRateLimiter,
  classifyError,
  RateLimitedError,
  RetriesExhaustedError,
  resilient,
  resilientModel,
  subscribe,
  withRateLimit,
} from "../src/index.js";
import { RedisRateLimitStore } from "../src/integrations/redis.js";
import { gcraAcquire, gcraAdjust, gcraBlock, type GcraRule } from "../src/resilience/gcra.js";
import { estimatePromptTokens, providerBlockOf, usageTokensOf } from "../src/resilience/rate-limit-usage.js";
import { type FakeProvider, startFakeProvider } from "./support/fake-provider.js";
import { chatOpenAI } from "./support/provider-clients.js";
import { type RedisServer, startRedis } from "./support/redis.js";

let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}`;
const rule = (rpm: number, burst = 1, tpm = 0, tokenBurst = 0): GcraRule => ({
  requestIntervalMs: 60_000 / rpm,
  requestBurstMs: burst * (60_000 / rpm),
  tokenIntervalMs: tpm > 0 ? 60_000 / tpm : 0,
  tokenBurstMs: tpm > 0 ? tokenBurst * (60_000 / tpm) : 0,
});
const openai429 = (h: Record<string, string>) =>
  OpenAISdk.APIError.generate(
    429,
    { error: { message: "Rate limit reached", type: "requests", param: null, code: "rate_limit_exceeded" } },
    "m",
    new Headers(h),
  );

describe("GCRA", () => {
  it("spaces requests evenly after a burst, and a refusal leaves no trace", () => {
    const state = { requestTat: 0, tokenTat: 0 };
    const r = rule(600, 2); // 100 ms apart, 2 at once
    const now = 1_000_000;
    expect(gcraAcquire(state, r, now, 0, 0).granted).toBe(true);
    expect(gcraAcquire(state, r, now, 0, 0).granted).toBe(true);
    const third = gcraAcquire(state, r, now, 0, 0);
    expect(third).toMatchObject({ granted: false, waitMs: 100, requestsAvailable: 0 });
    // Refused without reserving: the same call still waits 100 ms.
    expect(gcraAcquire(state, r, now, 0, 0).waitMs).toBe(100);
    // Willing to wait: reserved, and the next one waits behind it.
    expect(gcraAcquire(state, r, now, 0, 1000)).toMatchObject({ granted: true, waitMs: 100 });
    expect(gcraAcquire(state, r, now, 0, 1000)).toMatchObject({ granted: true, waitMs: 200 });
    // 250 ms later two slots are free again.
    expect(gcraAcquire({ requestTat: 0, tokenTat: 0 }, r, now, 0, 0).requestsAvailable).toBe(1);
  });

  it("charges and refunds tokens, and a 429 blocks until the reset", () => {
    const state = { requestTat: 0, tokenTat: 0 };
    const r = rule(6000, 1, 6000, 100); // 10 ms per token, 100 tokens at once
    const now = 5_000_000;
    expect(gcraAcquire(state, r, now, 50, 0).granted).toBe(true);
    gcraAdjust(state, r, now, 0, 250); // the call used 300
    expect(gcraAcquire(state, r, now, 10, 0)).toMatchObject({ granted: false, waitMs: 2100 });
    gcraAdjust(state, r, now, -1, -300);
    expect(gcraAcquire(state, r, now, 10, 0).granted).toBe(true);
    gcraBlock(state, r, now, 2000, -1);
    expect(gcraAcquire(state, r, now, 0, 0)).toMatchObject({ granted: false, waitMs: 2000 });
  });
});

describe("usage and provider headers", () => {
  it("estimates prompts, reads usage_metadata and tells which budget a 429 spent", () => {
    expect(estimatePromptTokens([new HumanMessage("x".repeat(40))])).toBe(14);
    expect(estimatePromptTokens({ messages: [new HumanMessage("abcd"), new AIMessage("efgh")] })).toBe(10);
    expect(estimatePromptTokens({ count: 3 })).toBe(0);
    const answer = new AIMessage({ content: "ok", usage_metadata: { input_tokens: 30, output_tokens: 7, total_tokens: 37 } });
    expect(usageTokensOf(answer)).toBe(37);
    expect(usageTokensOf({ messages: [answer, answer] })).toBe(74);
    expect(usageTokensOf({ generations: [[{ text: "ok", message: answer }]] })).toBe(37);
    expect(usageTokensOf({ answer: "no usage" })).toBeUndefined();
    const now = Date.now();
    expect(
      providerBlockOf(
        openai429({ "x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "900", "x-ratelimit-reset-requests": "1.5s" }),
        now,
      ),
    ).toEqual({ requestsMs: 1500, tokensMs: -1 });
    expect(providerBlockOf(openai429({ "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s" }), now)).toEqual({
      requestsMs: -1,
      tokensMs: 360_000,
    });
    expect(providerBlockOf(openai429({ "retry-after-ms": "250" }), now)).toEqual({ requestsMs: 250, tokensMs: 250 });
  });
});

describe("createRateLimiter", () => {
  it("rejects bad options with a TypeError naming the option", () => {
    expect(() => createRateLimiter({ name: "x" })).toThrow(/requestsPerMinute or tokensPerMinute/);
    expect(() => createRateLimiter({ name: "x", requestsPerMinute: 10, localShare: 2 })).toThrow(TypeError);
    expect(() => createRateLimiter({ name: "x", requestsPerMinute: 10, localShare: 2 })).toThrow(/localShare/);
    expect(() => createRateLimiter({ name: "x", requestsPerMinute: 10, tokenBurst: 5 })).toThrow(/tokenBurst/);
    expect(() => createRateLimiter({ name: "", requestsPerMinute: 10 })).toThrow(/name/);
    expect(() => resilient(() => ({}), { rateLimit: { requestsPerMinute: -1 } as never })).toThrow(/rateLimit/);
  });

  it("refuses at once past maxWaitMs with a retryable RateLimitedError that is no breaker failure", async () => {
    const limiter = createRateLimiter({ name: unique("refuse"), requestsPerMinute: 600, maxWaitMs: 0 });
    await limiter.acquire();
    const error = await limiter.acquire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    const refused = error as RateLimitedError;
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(100);
    expect(classifyError(refused)).toEqual({
      retryable: true,
      countsAsFailure: false,
      reason: "throttled",
      retryAfterMs: refused.retryAfterMs,
    });
  });

  it("makes a caller wait for its place, and an aborted wait hands the place back", async () => {
    const limiter = createRateLimiter({ name: unique("wait"), requestsPerMinute: 600 });
    expect((await limiter.acquire()).waitedMs).toBe(0);
    const second = await limiter.acquire();
    expect(second.waitedMs).toBeGreaterThan(0);
    expect(second.waitedMs).toBeLessThanOrEqual(100);
    const controller = new AbortController();
    const aborted = limiter.acquire({ signal: controller.signal });
    controller.abort(new Error("cancelled"));
    await expect(aborted).rejects.toThrow("cancelled");
    // The aborted caller's place went back: the next caller does not wait behind it.
    expect((await limiter.acquire()).waitedMs).toBeLessThanOrEqual(100);
  });

  it("settles the token estimate with the usage the node returned", async () => {
    const limiter = createRateLimiter({ name: unique("tokens"), tokensPerMinute: 6000, tokenBurst: 100, maxWaitMs: 0 });
    const node = withRateLimit(
      async (_state: { messages: HumanMessage[] }) => ({
        messages: [new AIMessage({ content: "ok", usage_metadata: { input_tokens: 990, output_tokens: 10, total_tokens: 1000 } })],
      }),
      limiter,
    );
    await node({ messages: [new HumanMessage("hello")] }, {});
    // 1000 tokens at 10 ms each, 100 of them burst: the next 10-token call is about 9 s away.
    const error = (await limiter.acquire({ tokens: 10 }).catch((e: unknown) => e)) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterMs).toBeGreaterThan(5000);
  });

  it("a provider 429 blocks the limiter until the reset it names", async () => {
    const limiter = createRateLimiter({ name: unique("429"), requestsPerMinute: 6000, maxWaitMs: 0 });
    const node = withRateLimit(async () => {
      throw openai429({ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "10s" });
    }, limiter);
    await expect(node({}, {})).rejects.toThrow();
    const error = (await limiter.acquire().catch((e: unknown) => e)) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterMs).toBeGreaterThan(5000);
  });

  it("never waits past the budget of a retry around it", async () => {
    const limiter = createRateLimiter({ name: unique("budget"), requestsPerMinute: 60, maxWaitMs: 60_000 });
    const node = resilient(async () => ({ ok: true }), { retry: { retries: 3, maxElapsedMs: 200 }, rateLimit: limiter });
    await node({}, {});
    const error = await node({}, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as RetriesExhaustedError).lastReason).toBe("throttled");
  });

  it("reports waits, rejections and availability in the metrics", async () => {
    const metrics = createMetrics();
    const name = unique("metrics");
    const limiter = createRateLimiter({ name, requestsPerMinute: 600, tokensPerMinute: 60_000, maxWaitMs: 0 });
    await limiter.acquire({ tokens: 100 });
    await limiter.acquire().catch(() => undefined);
    const text = await metrics.text();
    expect(text).toContain(`langgraph_rate_limit_wait_seconds_count{limiter="${name}"} 1`);
    expect(text).toContain(`langgraph_rate_limit_rejections_total{limiter="${name}"} 1`);
    expect(text).toContain(`langgraph_rate_limit_available{limiter="${name}",resource="requests"} 0`);
    expect(text).toMatch(new RegExp(`langgraph_rate_limit_available\\{limiter="${name}",resource="tokens"\\} 9\\d\\d`));
  });
});

describe("RedisRateLimitStore", () => {
  let redis: RedisServer;
  let provider: FakeProvider;
  beforeAll(async () => {
    redis = await startRedis();
    provider = await startFakeProvider();
  });
  afterAll(async () => {
    await provider?.close();
    await redis?.stop();
  });

  it("shares one budget between replicas (separate clients, one name) on the server's clock", async () => {
    const a = new RedisRateLimitStore({ url: redis.url });
    const b = new RedisRateLimitStore({ url: redis.url });
    const name = unique("fleet");
    const one = createRateLimiter({ name, requestsPerMinute: 600, maxWaitMs: 0, store: a });
    const two = createRateLimiter({ name, requestsPerMinute: 600, maxWaitMs: 0, store: b });
    await one.acquire();
    await expect(two.acquire()).rejects.toBeInstanceOf(RateLimitedError);
    expect(a.keyOf(name)).toBe(`langgraph-ops:ratelimit:{${name}}`);
    // A 429 seen by one replica blocks the other.
    const blocked = createRateLimiter({ name: unique("fleet-429"), requestsPerMinute: 60_000, maxWaitMs: 0, store: a });
    const peer = createRateLimiter({ name: blocked.name, requestsPerMinute: 60_000, maxWaitMs: 0, store: b });
    blocked.reportRateLimited(openai429({ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "10s" }));
    await new Promise((r) => setTimeout(r, 100));
    const error = (await peer.acquire().catch((e: unknown) => e)) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterMs).toBeGreaterThan(5000);
    await a.close();
    await b.close();
  });

  it("decides locally while Redis is unreachable and reports it, without failing the call", async () => {
    const store = new RedisRateLimitStore({ url: "redis://127.0.0.1:1", operationTimeoutMs: 100 });
    const errors: string[] = [];
    const stop = subscribe(CHANNELS.storeError, (e) => errors.push(`${e.store}.${e.operation}`));
    try {
      const limiter = createRateLimiter({
        name: unique("down"),
        requestsPerMinute: 600,
        store,
        localShare: 0.5,
        maxWaitMs: 0,
        storeRetryMs: 60_000,
      });
      expect((await limiter.acquire()).waitedMs).toBe(0);
      // Local state at half the limit: 200 ms apart.
      const error = (await limiter.acquire().catch((e: unknown) => e)) as RateLimitedError;
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error.retryAfterMs).toBeGreaterThan(100);
      expect(errors).toEqual(["RedisRateLimitStore.acquire"]);
    } finally {
      stop();
      await store.close();
    }
  });

  it("limits resilientModel calls of the real ChatOpenAI client: tokens settled from usage_metadata, a 429 blocks the fleet", async () => {
    const store = new RedisRateLimitStore({ url: redis.url });
    const name = unique("model");
    // One token a second: what the call used stays spent for the rest of the test.
    const limiter = createRateLimiter({ name, requestsPerMinute: 60_000, tokensPerMinute: 60, tokenBurst: 1000, store, maxWaitMs: 0 });
    const llm = resilientModel(chatOpenAI(provider), { rateLimit: limiter, retry: { retries: 0 } });
    const prompt = [new HumanMessage("count the tokens of this prompt, please")];
    const answer = await llm.invoke(prompt);
    const used = answer.usage_metadata?.total_tokens ?? 0;
    expect(used).toBeGreaterThan(limiter.estimateTokens(prompt));
    // The settle is written after the call returns, without holding it up: give it a moment, then the next acquire
    // reports what is left after the real usage was charged (the burst minus the call).
    await new Promise((r) => setTimeout(r, 50));
    await limiter.acquire({ tokens: 0 });
    const left = limiter.available().tokens ?? 0;
    expect(left).toBeLessThanOrEqual(1000 - used + 5);
    expect(left).toBeGreaterThanOrEqual(1000 - used);

    provider.enqueue({ fault: "rate_limited", remainingRequests: 0, resetRequests: "3s" });
    await expect(llm.invoke(prompt)).rejects.toThrow();
    const peer = createRateLimiter({ name, requestsPerMinute: 60_000, store: new RedisRateLimitStore({ url: redis.url }), maxWaitMs: 0 });
    await new Promise((r) => setTimeout(r, 100));
    await expect(peer.acquire()).rejects.toBeInstanceOf(RateLimitedError);
    await store.close();
  });
});
