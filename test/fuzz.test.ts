/**
 * Bad input sweep. Public options get arbitrary values (fast-check): each call either succeeds or throws a TypeError
 * whose message names the option, never anything else. The `/metrics` server gets malformed requests over raw TCP:
 * each gets a 4xx or a closed connection, and the server keeps serving `/metrics` afterwards.
 */
import { connect, type Socket } from "node:net";
import type { RunnableConfig } from "@langchain/core/runnables";
import { MemorySaver, StateGraph } from "@langchain/langgraph";
import { trace } from "@opentelemetry/api";
import fc from "fast-check";
import type { Logger } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertFiles, type MixinConfig, resolveConfig } from "../mixin/rules/index.js";
import { MIXIN_CONFIG_OPTIONS } from "../mixin/config.js";
import type { OptionSpec } from "../src/core/options.js";
import {
  type CircuitBreaker,
  createCircuitBreaker,
  createLogger,
  createMetrics,
  InMemoryIdempotencyStore,
  instrument,
  instrumentCheckpointer,
  type Metrics,
  type MetricsServer,
  resilient,
  runOnce,
  serveMetrics,
  withBulkhead,
  withCircuitBreaker,
  withIdempotency,
  withRetry,
  withTimeout,
} from "../src/index.js";
import { startTelemetry, type Telemetry } from "../src/integrations/otel.js";
import {
  POSTGRES_IDEMPOTENCY_STORE_OPTIONS,
  POSTGRES_THREAD_LOCK_STORE_OPTIONS,
  PostgresIdempotencyStore,
  PostgresThreadLockStore,
} from "../src/integrations/postgres.js";
import {
  REDIS_BREAKER_STORE_OPTIONS,
  REDIS_IDEMPOTENCY_STORE_OPTIONS,
  REDIS_RATE_LIMIT_STORE_OPTIONS,
  REDIS_SEMAPHORE_STORE_OPTIONS,
  REDIS_THREAD_LOCK_STORE_OPTIONS,
  RedisBreakerStore,
  RedisRateLimitStore,
  RedisIdempotencyStore,
  RedisSemaphoreStore,
  RedisThreadLockStore,
} from "../src/integrations/redis.js";
import { GUARD_THREADS_OPTIONS, guardThreads } from "../src/threads/guard.js";
import { IN_MEMORY_THREAD_LOCK_STORE_OPTIONS, InMemoryThreadLockStore, type ThreadLockStore } from "../src/threads/lock-store.js";
import { TELEMETRY_OPTIONS } from "../src/integrations/telemetry-options.js";
import { INSTRUMENT_CHECKPOINTER_OPTIONS } from "../src/observability/checkpointer.js";
import { INSTRUMENT_OPTIONS } from "../src/observability/instrument.js";
import { CREATE_LOGGER_OPTIONS } from "../src/observability/logger-options.js";
import { RESILIENT_OPTIONS } from "../src/resilience/compose.js";
import { IN_MEMORY_IDEMPOTENCY_STORE_OPTIONS } from "../src/resilience/idempotency-store.js";
import { SERVE_METRICS_OPTIONS } from "../src/server/serve.js";
import { oneNodeGraph, type TestNode, TestState, type TestStateType, threadConfig } from "./support/graph.js";
import { probes } from "./support/option-sweep.js";
import { type PostgresServer, startPostgres } from "./support/postgres.js";
import { type RedisServer, startRedis } from "./support/redis.js";
import { BULKHEAD_OPTIONS } from "../src/resilience/bulkhead.js";
import { CIRCUIT_BREAKER_OPTIONS } from "../src/resilience/circuit-breaker.js";
import { IDEMPOTENCY_OPTIONS, RUN_ONCE_OPTIONS } from "../src/resilience/idempotency.js";
import { RETRY_OPTIONS } from "../src/resilience/retry.js";
import { RATE_LIMITER_OPTIONS, createRateLimiter, type RateLimiter, withRateLimit } from "../src/resilience/rate-limit.js";
import { TIMEOUT_OPTIONS } from "../src/resilience/timeout.js";
import { CREATE_METRICS_OPTIONS } from "../src/observability/metrics.js";
import { createAgent } from "langchain";
import { getWeather } from "../examples/shared/agent.js";
import { FakeChatModel } from "../examples/shared/fake-chat-model.js";
import { RESILIENCE_MIDDLEWARE_OPTIONS } from "../src/agents/agent-calls.js";
import { RESILIENT_MODEL_OPTIONS, resilientModel } from "../src/agents/resilient-model.js";
import { resilienceMiddleware } from "../src/integrations/langchain.js";
import { TimeoutError } from "../src/resilience/errors.js";

const node = async (s: { n: number }) => ({ n: s.n + 1 });

/** Anything a user might pass by mistake, including the right types with wrong values. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -1_000_000, max: 10_000_000_000 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5, 1, 2, 100, 101),
  fc.string({ maxLength: 12 }),
  fc.constantFrom("decorrelated", "full", "none", "", " ", "x"),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant({}),
  fc.constant(() => true),
  fc.constant(Symbol("s")),
  fc.bigInt({ min: -5n, max: 5n }),
);

/** An options object with some known keys (arbitrary values) and maybe a misspelt one. */
function optionsOf(keys: readonly string[]): fc.Arbitrary<unknown> {
  const known = fc.dictionary(fc.constantFrom(...keys), junk, { maxKeys: keys.length });
  const typo = fc.option(fc.constantFrom("retires", "timout", "limt", "nmae", "__proto__x"), { nil: undefined });
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(known, typo, junk).map(([o, t, v]) => (t === undefined ? o : { ...o, [t]: v })) },
    { weight: 1, arbitrary: junk },
  );
}

let seq = 0;
const created: Array<{ shutdown(): void }> = [];

/** Runs `build`; passes when it returns, or throws a TypeError mentioning one of `names`. */
function acceptsOrNames(build: () => unknown, names: readonly string[]): void {
  try {
    const made = build();
    if (typeof made === "object" && made !== null && typeof (made as { shutdown?: unknown }).shutdown === "function") {
      created.push(made as { shutdown(): void });
    }
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    const message = (error as TypeError).message;
    expect(
      names.some((n) => message.includes(n)),
      `"${message}" names none of ${names.join(", ")}`,
    ).toBe(true);
  }
}

afterAll(() => {
  for (const b of created.splice(0)) b.shutdown();
});

const RETRY = Object.keys(RETRY_OPTIONS);
const BREAKER = Object.keys(CIRCUIT_BREAKER_OPTIONS);
const RUNS = { numRuns: 300 };

describe("option sweep: accepted, or a TypeError naming the option", () => {
  it("withRetry", () => {
    fc.assert(
      fc.property(optionsOf(RETRY), (o) => acceptsOrNames(() => withRetry(node, o as never), ["withRetry(options)"])),
      RUNS,
    );
  });

  it("withTimeout", () => {
    fc.assert(
      fc.property(fc.oneof(junk, optionsOf(Object.keys(TIMEOUT_OPTIONS))), (o) =>
        acceptsOrNames(() => withTimeout(node, o as never), ["withTimeout(ms)"]),
      ),
      RUNS,
    );
  });

  it("createCircuitBreaker and withCircuitBreaker", () => {
    fc.assert(
      fc.property(optionsOf(BREAKER), (o) => {
        seq += 1;
        const named = typeof o === "object" && o !== null && !Array.isArray(o) && !("name" in o) ? { ...o, name: `fuzz-${seq}` } : o;
        acceptsOrNames(() => createCircuitBreaker(named as never), ["createCircuitBreaker(options)"]);
        acceptsOrNames(() => withCircuitBreaker(node, o as never), ["withCircuitBreaker(options)"]);
      }),
      RUNS,
    );
  });

  it("withBulkhead and withIdempotency", () => {
    fc.assert(
      fc.property(optionsOf(Object.keys(BULKHEAD_OPTIONS)), optionsOf(Object.keys(IDEMPOTENCY_OPTIONS)), (b, i) => {
        acceptsOrNames(() => withBulkhead(node, b as never), ["withBulkhead(options)"]);
        acceptsOrNames(() => withIdempotency(node, i as never), ["withIdempotency(options)"]);
      }),
      RUNS,
    );
  });

  it("resilient, with every policy's options", () => {
    const policies = fc.record(
      {
        retry: optionsOf(RETRY),
        timeout: fc.oneof(junk, optionsOf(Object.keys(TIMEOUT_OPTIONS))),
        circuitBreaker: optionsOf(BREAKER),
        bulkhead: optionsOf(Object.keys(BULKHEAD_OPTIONS)),
        idempotency: fc.oneof(fc.constant(true), optionsOf(Object.keys(IDEMPOTENCY_OPTIONS))),
        fallback: junk,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof({ weight: 6, arbitrary: policies }, { weight: 1, arbitrary: junk }), (o) => {
        seq += 1;
        const named = function fuzzNode(s: { n: number }) {
          return node(s);
        };
        Object.defineProperty(named, "name", { value: `fuzz_node_${seq}` });
        acceptsOrNames(() => resilient(named, o as never), ["resilient(options)", "resilient(node)"]);
      }),
      RUNS,
    );
  });

  it("createMetrics", () => {
    fc.assert(
      fc.property(optionsOf(Object.keys(CREATE_METRICS_OPTIONS)), (o) => {
        acceptsOrNames(() => {
          const m = createMetrics(o as never);
          m.close();
        }, ["createMetrics(options)"]);
      }),
      RUNS,
    );
  });

  it("serveMetrics (rejected options never bind a port)", async () => {
    const metrics = createMetrics();
    const opts = fc.record(
      {
        port: fc.oneof(junk, fc.constant(0)),
        host: fc.oneof(junk, fc.constant("127.0.0.1")),
        path: fc.oneof(junk, fc.constantFrom("/metrics", "/m?x", "metrics", "/")),
        auth: fc.oneof(junk, fc.constant({ bearer: "t" }), fc.constant({ basic: { username: "u" } })),
        readiness: fc.oneof(junk, fc.constant({ noOpenBreakers: "yes" })),
        maxConnections: fc.oneof(junk, fc.constantFrom(0, -1, 1.5)),
        requestTimeoutMs: fc.oneof(junk, fc.constantFrom(0, 99, Number.POSITIVE_INFINITY)),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(opts, async (o) => {
        // A real port other than 0 could be taken or privileged; those are environment errors, not option errors.
        const port = (o as { port?: unknown }).port;
        if (typeof port === "number" && Number.isInteger(port) && port > 0 && port <= 65_535) return;
        const host = (o as { host?: unknown }).host;
        if (typeof host === "string" && host !== "127.0.0.1") return;
        let server: MetricsServer | undefined;
        try {
          server = await serveMetrics(metrics, o as never);
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError);
          expect((error as TypeError).message).toMatch(/serveMetrics\(metrics(, options)?\)/);
        } finally {
          await server?.close();
        }
      }),
      { numRuns: 150 },
    );
    metrics.close();
  });
});

/**
 * Every public option of every entry point, probed from its spec (test/support/option-sweep.ts): each probe is
 * either refused at construction with a TypeError naming the entry point and the key, or accepted, and then a real
 * call through it must work. Misspelt and unknown keys must always be refused.
 */
interface Entry {
  /** The entry point as messages name it. */
  where: string;
  spec: OptionSpec;
  /** Valid options the entry point needs (required keys). */
  base?: Record<string, unknown>;
  /** Constructs; a TypeError here is a refusal. */
  build(options: Record<string, unknown>): unknown;
  /** A real call through what `build` returned; must not throw for accepted options. */
  exercise(made: unknown, options: Record<string, unknown>): Promise<void>;
  dispose?(made: unknown): Promise<void> | void;
}

const sweepNode = async (s: TestStateType) => ({ result: `${s.requestId}!` });

/** Runs a one-node graph guarded by `store` (twice on one thread: the first run must have released it). */
async function runGuarded(store: ThreadLockStore, options: Record<string, unknown> = {}): Promise<void> {
  const graph = guardThreads(oneNodeGraph(sweepNode), { strategy: "reject", ...options, store });
  const config = threadConfig();
  for (let i = 0; i < 2; i++) expect((await graph.invoke({ requestId: "r" }, config)).result).toBe("r!");
}

/** Runs `wrapped` as the node of a real one-node graph with a checkpointer and a thread. */
async function runNode(wrapped: unknown): Promise<void> {
  const graph = oneNodeGraph(wrapped as TestNode);
  const out = await graph.invoke({ requestId: "r" }, threadConfig());
  expect(out.result).toBe("r!");
}

let sweepSeq = 0;
const uniqueName = () => `sweep_${process.pid}_${++sweepSeq}`;
const wrapper = (
  where: string,
  spec: OptionSpec,
  wrap: (o: Record<string, unknown>) => unknown,
  base?: Record<string, unknown>,
): Entry => ({
  where,
  spec,
  ...(base === undefined ? {} : { base }),
  build: wrap,
  exercise: (made) => runNode(made),
});
const collect: Array<{ shutdown(): void }> = [];
const lines: string[] = [];
const sink = { write: (line: string) => void lines.push(line) };

function entries(pg: PostgresServer, redis: RedisServer): Entry[] {
  return [
    wrapper("withRetry(options)", RETRY_OPTIONS, (o) => withRetry(sweepNode, o)),
    wrapper("withTimeout(ms)", TIMEOUT_OPTIONS, (o) => withTimeout(sweepNode, o as never), { ms: 5000 }),
    wrapper("withBulkhead(options)", BULKHEAD_OPTIONS, (o) => withBulkhead(sweepNode, o as never), { limit: 2 }),
    wrapper("withIdempotency(options)", IDEMPOTENCY_OPTIONS, (o) => withIdempotency(sweepNode, o)),
    wrapper("withCircuitBreaker(options)", CIRCUIT_BREAKER_OPTIONS, (o) => {
      const named = Object.defineProperty(async (s: TestStateType) => sweepNode(s), "name", { value: uniqueName() });
      return withCircuitBreaker(named, o as never);
    }),
    {
      where: "createRateLimiter(options)",
      spec: RATE_LIMITER_OPTIONS,
      base: { name: "sweep-limiter", requestsPerMinute: 600_000, tokensPerMinute: 6_000_000 },
      build: (o) => createRateLimiter(o as never),
      exercise: async (made) => {
        const permit = await (made as RateLimiter).acquire({ tokens: 1 });
        permit.settle(2);
      },
    },
    wrapper("withRateLimit(limiterOrOptions)", RATE_LIMITER_OPTIONS, (o) => withRateLimit(sweepNode, o as never), {
      name: "sweep-node-limiter",
      requestsPerMinute: 600_000,
      tokensPerMinute: 6_000_000,
    }),
    wrapper("resilient(options)", RESILIENT_OPTIONS, (o) => {
      const named = Object.defineProperty(async (s: TestStateType) => sweepNode(s), "name", { value: uniqueName() });
      return resilient(named, o as never);
    }),
    {
      where: "createCircuitBreaker(options)",
      spec: CIRCUIT_BREAKER_OPTIONS,
      base: { name: "sweep" },
      build: (o) =>
        createCircuitBreaker({ ...o, name: typeof o.name === "string" && o.name.trim() !== "" ? uniqueName() : o.name } as never),
      exercise: async (made) => expect(await (made as CircuitBreaker).execute(() => 7)).toBe(7),
      dispose: (made) => (made as CircuitBreaker).shutdown(),
    },
    {
      where: "runOnce(options)",
      spec: RUN_ONCE_OPTIONS,
      // runOnce is called inside a node, so its options meet their check at that call: the run is the construction.
      build: (o) => runOnceCall(o),
      exercise: async () => undefined,
    },
    {
      where: "InMemoryIdempotencyStore(options)",
      spec: IN_MEMORY_IDEMPOTENCY_STORE_OPTIONS,
      build: (o) => new InMemoryIdempotencyStore(o),
      exercise: (store) => runNode(withIdempotency(sweepNode, { store: store as InMemoryIdempotencyStore })),
    },
    {
      where: "createMetrics(options)",
      spec: CREATE_METRICS_OPTIONS,
      build: (o) => createMetrics(o),
      exercise: async (made) => {
        const metrics = made as Metrics;
        await instrument(oneNodeGraph(sweepNode), { metrics }).invoke({ requestId: "r" }, threadConfig());
        expect(await metrics.text()).toContain("graph_runs_total");
      },
      dispose: (made) => (made as Metrics).close(),
    },
    {
      where: "instrument(graph, options)",
      spec: INSTRUMENT_OPTIONS,
      build: (o) => instrument(oneNodeGraph(sweepNode), o),
      exercise: async (graph) => {
        const out = await (graph as ReturnType<typeof oneNodeGraph>).invoke({ requestId: "r" }, threadConfig());
        expect(out.result).toBe("r!");
      },
    },
    {
      where: "instrumentCheckpointer(saver, options)",
      spec: INSTRUMENT_CHECKPOINTER_OPTIONS,
      build: (o) => instrumentCheckpointer(new MemorySaver(), o),
      exercise: async (saver) => {
        const graph = new StateGraph(TestState)
          .addNode("work", sweepNode)
          .addEdge("__start__", "work")
          .compile({ checkpointer: saver as MemorySaver });
        expect((await graph.invoke({ requestId: "r" }, threadConfig())).result).toBe("r!");
      },
    },
    {
      where: "serveMetrics(metrics, options)",
      spec: SERVE_METRICS_OPTIONS,
      base: { port: 0 },
      build: (o) => serveMetrics(sweepMetrics, o),
      exercise: async (made) => {
        const server = made as MetricsServer;
        expect((await fetch(new URL("/healthz", server.url))).status).toBe(200);
      },
      dispose: (made) => (made as MetricsServer).close(),
    },
    {
      where: "createLogger(options)",
      spec: CREATE_LOGGER_OPTIONS,
      base: { destination: sink },
      build: (o) => createLogger(o),
      exercise: async (made) => {
        const logger = made as Logger;
        logger.fatal({ probe: true }, "sweep");
        logger.flush();
      },
    },
    {
      where: "resilientModel(options)",
      spec: RESILIENT_MODEL_OPTIONS,
      build: (o) => resilientModel(new FakeChatModel(), o as never),
      exercise: (made, o) =>
        withinDeadline(o, async () => {
          const reply = await (made as FakeChatModel).invoke("What is the weather in Paris?");
          expect(reply.tool_calls?.[0]?.args).toEqual({ city: "Paris" });
        }),
    },
    {
      where: "resilienceMiddleware(options)",
      spec: RESILIENCE_MIDDLEWARE_OPTIONS,
      build: (o) => resilienceMiddleware(o as never),
      // A whole agent run: a model call, the tool call it asks for (idempotent ones need the thread and checkpointer), a reply.
      exercise: (made, o) =>
        withinDeadline(o, async () => {
          const agent = createAgent({
            model: new FakeChatModel(),
            tools: [getWeather],
            checkpointer: new MemorySaver(),
            middleware: [made as ReturnType<typeof resilienceMiddleware>],
          });
          const out = await agent.invoke({ messages: [{ role: "user", content: "What is the weather in Paris?" }] }, threadConfig());
          expect(String(out.messages.at(-1)?.content)).toContain("18°C and clear in Paris");
        }),
    },
    {
      where: "startTelemetry(options)",
      spec: TELEMETRY_OPTIONS,
      // No exporter unless a probe configures one; then it sends to the default loopback endpoint, where nothing listens.
      base: { otlp: false, langfuse: false },
      build: (o) => startTelemetry(o),
      exercise: async (made) => {
        trace.getTracer("sweep").startSpan("probe").end();
        await (made as Telemetry).shutdown();
      },
      dispose: (made) => (made as Telemetry).shutdown(),
    },
    {
      where: "resolveConfig(config)",
      spec: MIXIN_CONFIG_OPTIONS,
      build: (o) => resolveConfig(o as never),
      exercise: async (config) => {
        const files = alertFiles(config as MixinConfig);
        expect(Object.values(files).join("")).toContain("LangGraphRunErrorBudgetBurn");
      },
    },
    {
      where: "PostgresIdempotencyStore(options)",
      spec: POSTGRES_IDEMPOTENCY_STORE_OPTIONS,
      base: { connectionString: pg.url },
      build: (o) => new PostgresIdempotencyStore(o as never),
      exercise: async (made) => {
        const store = made as PostgresIdempotencyStore;
        await store.setup();
        await runNode(withIdempotency(sweepNode, { store }));
      },
      dispose: (made) => (made as PostgresIdempotencyStore).close(),
    },
    {
      where: "RedisIdempotencyStore(options)",
      spec: REDIS_IDEMPOTENCY_STORE_OPTIONS,
      base: { url: redis.url },
      build: (o) => new RedisIdempotencyStore(o as never),
      exercise: async (made) => {
        const store = made as RedisIdempotencyStore;
        await store.setup();
        await runNode(withIdempotency(sweepNode, { store }));
      },
      dispose: (made) => (made as RedisIdempotencyStore).close(),
    },
    {
      where: "guardThreads(graph, options)",
      spec: GUARD_THREADS_OPTIONS,
      base: { store: new InMemoryThreadLockStore(), strategy: "reject" },
      build: (o) => guardThreads(oneNodeGraph(sweepNode), o as never),
      exercise: async (graph) => {
        const config = threadConfig();
        for (let i = 0; i < 2; i++)
          expect((await (graph as ReturnType<typeof oneNodeGraph>).invoke({ requestId: "r" }, config)).result).toBe("r!");
      },
    },
    {
      where: "InMemoryThreadLockStore(options)",
      spec: IN_MEMORY_THREAD_LOCK_STORE_OPTIONS,
      build: (o) => new InMemoryThreadLockStore(o),
      exercise: (store) => runGuarded(store as InMemoryThreadLockStore),
    },
    {
      where: "PostgresThreadLockStore(options)",
      spec: POSTGRES_THREAD_LOCK_STORE_OPTIONS,
      base: { connectionString: pg.url },
      build: (o) => new PostgresThreadLockStore(o as never),
      exercise: (store) => runGuarded(store as PostgresThreadLockStore),
      dispose: (made) => (made as PostgresThreadLockStore).close(),
    },
    {
      where: "RedisBreakerStore(options)",
      spec: REDIS_BREAKER_STORE_OPTIONS,
      base: { url: redis.url },
      build: (o) => new RedisBreakerStore(o as never),
      exercise: async (made) => {
        const breaker = createCircuitBreaker({ name: uniqueName(), store: made as RedisBreakerStore });
        try {
          for (let i = 0; i < 2; i++) expect(await breaker.execute(() => 7)).toBe(7);
        } finally {
          breaker.shutdown();
        }
      },
      dispose: (made) => (made as RedisBreakerStore).close(),
    },
    {
      where: "RedisSemaphoreStore(options)",
      spec: REDIS_SEMAPHORE_STORE_OPTIONS,
      base: { url: redis.url },
      build: (o) => new RedisSemaphoreStore(o as never),
      exercise: (made) => runNode(withBulkhead(sweepNode, { name: uniqueName(), limit: 1, store: made as RedisSemaphoreStore })),
      dispose: (made) => (made as RedisSemaphoreStore).close(),
    },
    {
      where: "RedisRateLimitStore(options)",
      spec: REDIS_RATE_LIMIT_STORE_OPTIONS,
      base: { url: redis.url },
      build: (o) => new RedisRateLimitStore(o as never),
      exercise: async (made) => {
        const store = made as RedisRateLimitStore;
        await createRateLimiter({ name: "sweep-redis-limiter", requestsPerMinute: 600_000, store }).acquire();
      },
      dispose: (made) => (made as RedisRateLimitStore).close(),
    },
    {
      where: "RedisThreadLockStore(options)",
      spec: REDIS_THREAD_LOCK_STORE_OPTIONS,
      base: { url: redis.url },
      build: (o) => new RedisThreadLockStore(o as never),
      exercise: (store) => runGuarded(store as RedisThreadLockStore),
      dispose: (made) => (made as RedisThreadLockStore).close(),
    },
  ];
}

const sweepMetrics = createMetrics();

describe("option sweep generated from the option specs", () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  }, 60_000);
  afterAll(async () => {
    for (const b of collect.splice(0)) b.shutdown();
    sweepMetrics.close();
    await Promise.all([pg?.stop(), redis?.stop()]);
  });

  it("refuses every misspelt key and never accepts a value that then fails", { timeout: 240_000 }, async () => {
    const counts = { calls: 0, refused: 0, acceptedWorking: 0 };
    const failures: string[] = [];
    const accepted: string[] = [];
    for (const entry of entries(pg, redis)) {
      const list = probes(entry.spec, entry.base ?? {});
      for (const probe of list) {
        counts.calls += 1;
        const at = `${entry.where} ${probe.label}`;
        let made: unknown;
        try {
          made = await entry.build(probe.options);
        } catch (error) {
          const message = (error as Error).message ?? "";
          const top = probe.path.split(".")[0] as string;
          if (!(error instanceof TypeError)) failures.push(`${at}: threw ${String(error)}, not a TypeError`);
          else if (!message.includes(entry.where.replace(/\(.*$/, "")) || !message.includes(top)) {
            failures.push(`${at}: "${message}" names neither the entry point nor ${top}`);
          } else counts.refused += 1;
          continue;
        }
        try {
          if (probe.kind === "typo") failures.push(`${at}: misspelt key accepted`);
          else await entry.exercise(made, probe.options);
          if (probe.kind !== "typo") {
            counts.acceptedWorking += 1;
            accepted.push(at);
          }
        } catch (error) {
          failures.push(`${at}: accepted, then the call failed: ${String(error)}`);
        } finally {
          await entry.dispose?.(made);
        }
      }
    }
    console.log(
      `option sweep: ${counts.calls} calls, ${counts.refused} clear TypeErrors, ${counts.acceptedWorking} accepted and working, ${failures.length} failures`,
    );
    console.log(`accepted (and working):\n  ${accepted.join("\n  ")}`);
    expect(failures).toEqual([]);
    expect(counts.refused + counts.acceptedWorking).toBe(counts.calls);
  });
});

/** The deadlines (ms) an agent options probe sets: its own `timeout` and its `model`'s and `tools`' ones. */
function deadlinesOf(options: Record<string, unknown>): number[] {
  const ms = (t: unknown) => (typeof t === "number" ? t : (t as { ms?: unknown } | undefined)?.ms);
  return [options.timeout, ...[options.model, options.tools].map((p) => (p as { timeout?: unknown } | undefined)?.timeout)]
    .map(ms)
    .filter((t): t is number => typeof t === "number");
}

/**
 * Runs `call`; a probe that set a deadline of a few ms (an accepted value: `timeout: 1`) may see it expire on a
 * loaded machine, and then the call must fail with the kit's TimeoutError (the option working), nothing else.
 */
async function withinDeadline(options: Record<string, unknown>, call: () => Promise<void>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!deadlinesOf(options).some((t) => t < 100)) throw error;
    let current: unknown = error;
    for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
      if (current instanceof TimeoutError) return;
      current = current.cause;
    }
    throw error;
  }
}

/** runOnce checks its options at the call, inside the node: a refusal surfaces from the run. */
async function runOnceCall(options: Record<string, unknown>): Promise<void> {
  await runNode(async (_s: TestStateType, config: RunnableConfig) => ({
    result: `${await runOnce(config, "x", () => "r", options as never)}!`,
  }));
}

/** Sends raw bytes; resolves with the status code of the first response line, or "closed" if none came. */
function raw(port: number, chunks: Array<string | Buffer>, settleMs = 3000): Promise<number | "closed"> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, "127.0.0.1");
    let data = "";
    let done = false;
    const finish = (value: number | "closed") => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    // Bounded: a server that neither answers nor closes within settleMs fails the assertion below (not a 4xx, not closed).
    const timer = setTimeout(() => finish(Number.NaN), settleMs);
    socket.on("data", (d: Buffer) => {
      data += d.toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      if (m) finish(Number(m[1]));
    });
    socket.on("error", () => finish("closed"));
    socket.on("close", () => finish("closed"));
    socket.on("connect", () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

describe("/metrics server under malformed requests", () => {
  let server: MetricsServer;
  const metrics = createMetrics();

  beforeAll(async () => {
    server = await serveMetrics(metrics, { port: 0 });
  });
  afterAll(async () => {
    await server.close();
    metrics.close();
  });

  const stillServes = async () => {
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("langgraph_graph_runs_total");
  };

  it("bad methods, paths, versions and header floods get a 4xx or a closed connection", async () => {
    const cases: string[] = [
      "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
      "BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /metrics%00 HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n",
      `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`,
      `GET /metrics HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join("\r\n")}\r\n\r\n`,
      "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
      `GET /${"x".repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ];
    for (const request of cases) {
      const status = await raw(server.port, [request]);
      const ok = status === "closed" || (typeof status === "number" && status >= 400 && status < 500);
      expect(ok, `${JSON.stringify(request.slice(0, 60))} → ${String(status)}`).toBe(true);
    }
    await stillServes();
  });

  it("random junk bytes get a 4xx or a closed connection", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2048 }), async (bytes) => {
        // Junk that happens to spell a valid request line is not junk.
        const text = Buffer.from(bytes).toString("latin1");
        fc.pre(!/^(GET|HEAD) /.test(text));
        // Empty lines before a request line are ignored by HTTP parsers (RFC 9112 §2.2): that connection is just idle.
        fc.pre(!/^[\r\n]*$/.test(text));
        const status = await raw(server.port, [Buffer.from(bytes), "\r\n\r\n"]);
        const ok = status === "closed" || (typeof status === "number" && status >= 400 && status < 500);
        expect(ok, `junk → ${String(status)}`).toBe(true);
      }),
      { numRuns: 60 },
    );
    await stillServes();
  });

  it("slowloris connections holding headers open do not stop /metrics, and close() ends them", async () => {
    const sockets: Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const s = connect(server.port, "127.0.0.1");
      s.on("error", () => undefined);
      s.write("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ");
      sockets.push(s);
    }
    // Drip one byte on each held connection, a few times, while scrapes go on.
    for (let round = 0; round < 5; round++) {
      for (const s of sockets) s.write("a");
      await stillServes();
    }
    for (const s of sockets) s.destroy();
    await stillServes();
  });
});
