import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { startTelemetry } from "../src/integrations/otel.js";
import {
  createLogger,
  createMetrics,
  instrument,
  instrumentCheckpointer,
  serveMetrics,
  InMemoryIdempotencyStore,
  createCircuitBreaker,
  resilient,
  runOnce,
  setDefaultIdempotencyStore,
  withBulkhead,
  withCircuitBreaker,
  withFallback,
  withIdempotency,
  withRetry,
  withTimeout,
} from "../src/index.js";
import { checkOptions, rule } from "../src/core/options.js";
import { liveCircuitBreakers } from "../src/resilience/circuit-breaker.js";
import { oneNodeGraph } from "./support/graph.js";

const graph = () => oneNodeGraph(async () => ({}));

const node = async () => ({});
type Case = [string, () => unknown, RegExp];

const cases: Case[] = [
  ["negative delay", () => withRetry(node, { minDelayMs: -1 }), /minDelayMs must be a number >= 0/],
  ["NaN delay", () => withRetry(node, { maxDelayMs: Number.NaN }), /maxDelayMs must be a number >= 0.*NaN/],
  ["retries -1", () => withRetry(node, { retries: -1 }), /retries must be an integer >= 0 and <= 1000, got -1/],
  ["fractional retries", () => withRetry(node, { retries: 1.5 }), /retries must be an integer/],
  ["max below min", () => withRetry(node, { minDelayMs: 500, maxDelayMs: 100 }), /maxDelayMs \(100\) must be >= minDelayMs \(500\)/],
  ["factor below 1", () => withRetry(node, { factor: 0.5 }), /factor must be a number >= 1/],
  ["bad jitter", () => withRetry(node, { jitter: "random" as never }), /jitter must be one of decorrelated, full, none/],
  ["unknown key", () => withRetry(node, { retires: 3 } as never), /unknown option "retires"/],
  ["retryOn not a function", () => withRetry(node, { retryOn: true as never }), /retryOn must be a function/],
  ["non-function node", () => withRetry("node" as never), /withRetry\(node\) must be a function, got "node"/],
  ["timeout 0", () => withTimeout(node, 0), /withTimeout\(ms\) must be a number >= 1/],
  ["timeout NaN", () => withTimeout(node, Number.NaN), /withTimeout\(ms\) must be a number/],
  [
    "timeout missing",
    () => withTimeout(node, undefined as never),
    /withTimeout\(ms\) must be a number >= 1 .* or an options object, got undefined/,
  ],
  [
    "timeout empty object",
    () => withTimeout(node, {} as never),
    /withTimeout\(ms\)\.ms must be a number >= 1 .*got undefined \(it is required\)/,
  ],
  ["timeout unknown key", () => withTimeout(node, { ms: 5, seconds: 1 } as never), /unknown option "seconds"/],
  [
    "breaker threshold",
    () => createCircuitBreaker({ name: "x", errorThresholdPercentage: 150 }),
    /errorThresholdPercentage must be a number >= 0 and <= 100/,
  ],
  ["breaker without name", () => createCircuitBreaker({} as never), /name must be a non-empty string/],
  [
    "breaker buckets",
    () => createCircuitBreaker({ name: "x", rollingCountTimeout: 1000, rollingCountBuckets: 3 }),
    /must divide rollingCountTimeout/,
  ],
  ["breaker unknown key", () => withCircuitBreaker(node, { name: "x", timeout: 5 } as never), /unknown option "timeout"/],
  ["bulkhead limit 0", () => withBulkhead(node, { limit: 0 }), /limit must be an integer >= 1/],
  ["bulkhead without limit", () => withBulkhead(node, {} as never), /limit must be an integer >= 1, got undefined \(it is required\)/],
  ["fallback not a function", () => withFallback(node, "x" as never), /withFallback\(fallback\) must be a function/],
  ["idempotency ttl", () => withIdempotency(node, { ttlMs: -5 }), /ttlMs must be an integer >= 1/],
  ["idempotency store", () => withIdempotency(node, { store: {} as never }), /store.claim must be a function/],
  ["resilient unknown key", () => resilient(node, { retrys: {} } as never), /resilient\(options\): unknown option "retrys"/],
  ["resilient nested", () => resilient(node, { retry: { retries: -2 } }), /resilient\(options\).retry.retries/],
  ["resilient timeout", () => resilient(node, { timeout: -1 }), /resilient\(options\).timeout must be a number >= 1/],
  [
    "resilient idempotency",
    () => resilient(node, { idempotency: { retires: 1 } as never }),
    /resilient\(options\)\.idempotency: unknown option "retires"/,
  ],
  ["resilient idempotency key", () => resilient(node, { idempotency: { key: "id" as never } }), /resilient\(options\)\.idempotency\.key/],
  ["default store", () => setDefaultIdempotencyStore({} as never), /must implement claim, complete and release/],
  ["memory store size", () => new InMemoryIdempotencyStore({ maxEntries: 0 }), /maxEntries must be an integer >= 1/],
];

describe("bad options fail at wrap time with a TypeError naming the option", () => {
  it.each(cases)("%s", (_name, make, message) => {
    let thrown: unknown;
    try {
      make();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(message);
  });

  it("runOnce validates its arguments before touching the store", async () => {
    await expect(runOnce({}, "", async () => 1)).rejects.toThrow(/name must be a non-empty string/);
    await expect(runOnce({}, "x", "f" as never)).rejects.toThrow(/fn must be a function/);
  });

  it("a rejected resilient() leaves no breaker behind", () => {
    expect(() => resilient(node, { circuitBreaker: { name: "half-built" }, retry: { retries: -1 } })).toThrow(TypeError);
    expect(liveCircuitBreakers().map((b) => b.name)).not.toContain("half-built");
  });
});

describe("the options that used to be accepted and fail later, or be ignored", () => {
  const later: Case[] = [
    ["withTimeout {}", () => withTimeout(node, {} as never), /withTimeout\(ms\)\.ms must be a number >= 1/],
    [
      "withIdempotency clock {}",
      () => withIdempotency(node, { clock: {} as never }),
      /withIdempotency\(options\)\.clock\.now must be a function/,
    ],
    [
      "logger fd 2 ** 53",
      () => createLogger({ destination: 2 ** 53 }),
      /createLogger\(options\)\.destination must be .*open file descriptor.*got 9007199254740992/,
    ],
    [
      "logger fd not open",
      () => createLogger({ destination: 2_000_000 }),
      /createLogger\(options\)\.destination must be .*open file descriptor/,
    ],
    ['logger destination "5"', () => createLogger({ destination: "5" }), /destination must be .*a string of digits is refused.*got "5"/],
    [
      "logger missing directory",
      () => createLogger({ destination: "/nonexistent-lgops/x.log" }),
      /destination must be a writable file path/,
    ],
    [
      "logger levl",
      () => createLogger({ levl: "info" } as never),
      /createLogger\(options\): unknown option "levl" \(did you mean "level"\?\)/,
    ],
    [
      "tracing captureContents",
      () => instrument(graph(), { tracing: { captureContents: true } as never }),
      /instrument\(graph, options\)\.tracing: unknown option "captureContents" \(did you mean "captureContent"\?\)/,
    ],
    [
      "tracing maxContentLenght",
      () => instrument(graph(), { tracing: { maxContentLenght: 10 } as never }),
      /unknown option "maxContentLenght" \(did you mean "maxContentLength"\?\)/,
    ],
    [
      "telemetry servicename",
      () => startTelemetry({ servicename: "x" } as never),
      /startTelemetry\(options\): unknown option "servicename" \(did you mean "serviceName"\?\)/,
    ],
    [
      "telemetry sampleRate",
      () => startTelemetry({ sampleRate: 0.1 } as never),
      /unknown option "sampleRate" \(did you mean "sampleRatio"\?\)/,
    ],
    [
      "telemetry otlp.URL",
      () => startTelemetry({ otlp: { URL: "http://x" } } as never),
      /startTelemetry\(options\)\.otlp: unknown option "URL" \(did you mean "url"\?\)/,
    ],
    [
      "telemetry langfuse.publickey",
      () => startTelemetry({ langfuse: { publickey: "pk" } } as never),
      /startTelemetry\(options\)\.langfuse: unknown option "publickey" \(did you mean "publicKey"\?\)/,
    ],
    [
      "telemetry otlp.url",
      () => startTelemetry({ otlp: { url: "localhost:4318" } }),
      /startTelemetry\(options\)\.otlp\.url must be an absolute http\(s\) URL, got "localhost:4318"/,
    ],
    ["metrics typo", () => createMetrics({ maxLabelValue: 5 } as never), /did you mean "maxLabelValues"/],
    [
      "checkpointer typo",
      () => instrumentCheckpointer(new MemorySaver(), { checkpointsize: false } as never),
      /did you mean "checkpointSize"/,
    ],
  ];
  it.each(later)("%s", (_name, make, message) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(message);
  });

  it("serveMetrics refuses auth with both bearer and basic, before binding a port", async () => {
    const metrics = createMetrics();
    await expect(serveMetrics(metrics, { auth: { bearer: "t", basic: { username: "u", password: "p" } } as never })).rejects.toThrow(
      /serveMetrics\(metrics, options\)\.auth must be \{ bearer: string \} or \{ basic: \{ username, password \} \}, got an object with bearer, basic/,
    );
    await expect(serveMetrics(metrics, { auth: { basic: { username: "u" } } as never })).rejects.toThrow(
      /auth\.basic\.password must be a string, got undefined \(it is required\)/,
    );
    metrics.close();
  });

  it("a file path destination is opened when the logger is created and receives the lines", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lgops-log-"));
    const file = join(dir, "5");
    const logger = createLogger({ destination: file });
    logger.info({ probe: 1 }, "to a file");
    logger.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse(readFileSync(file, "utf8").trim())).toMatchObject({ msg: "to a file", probe: 1 });
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("rule.arrayOf", () => {
  const spec = { tags: rule.arrayOf(rule.string({ nonEmpty: true })) };
  it("accepts arrays whose every item passes, the empty one too", () => {
    expect(checkOptions({ tags: ["a", "b"] }, spec, "f(options)")).toEqual({ tags: ["a", "b"] });
    expect(checkOptions({ tags: [] }, spec, "f(options)")).toEqual({ tags: [] });
  });
  it("names the first bad item by its index, and refuses what is not an array", () => {
    expect(() => checkOptions({ tags: ["a", ""] }, spec, "f(options)")).toThrow('f(options).tags[1] must be a non-empty string, got ""');
    expect(() => checkOptions({ tags: "a" }, spec, "f(options)")).toThrow(
      'f(options).tags must be an array, each item a non-empty string, got "a"',
    );
  });
});
