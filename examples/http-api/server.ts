/**
 * The API process: builds the agent, serves it on PORT, exports traces when OTEL_* / LANGFUSE_* variables are set,
 * and shuts down gracefully on SIGTERM or SIGINT.
 *
 * Run: npx tsx examples/http-api/server.ts   (then: curl -s localhost:3000/chat -H 'content-type: application/json' \
 *      -d '{"message":"What is the weather in Paris?"}')
 * Environment: PORT (3000), HOST (127.0.0.1; 0.0.0.0 in a container), FAKE_MODEL_LATENCY_MS (300),
 * SHUTDOWN_GRACE_MS (25000), REDIS_URL (replicas share the breaker, model concurrency and thread leases through it),
 * MODEL_CONCURRENCY (fleet-wide model calls at once with REDIS_URL, 8), OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, LANGFUSE_PUBLIC_KEY, ...
 */
import type { AddressInfo } from "node:net";
import { createLogger, createMetrics } from "../../src/index.js"; // in your app: "langgraph-ops"
import { startTelemetry } from "../../src/integrations/otel.js"; // in your app: "langgraph-ops/otel"
import { RedisBreakerStore, RedisSemaphoreStore, RedisThreadLockStore } from "../../src/integrations/redis.js"; // "langgraph-ops/redis"
import { FakeChatModel } from "../shared/fake-chat-model.js";
import { runIfEntryPoint } from "../shared/run-main.js";
import { buildApiAgent } from "./agent.js";
import { createAgentApp } from "./app.js";
import { gracefulShutdown } from "./shutdown.js";

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

async function main(): Promise<void> {
  const port = intFromEnv("PORT", 3000);
  const host = process.env.HOST ?? "127.0.0.1";
  const graceMs = intFromEnv("SHUTDOWN_GRACE_MS", 25_000);
  // Started first, so the spans of the first request already have somewhere to go.
  const telemetry = startTelemetry({ serviceName: process.env.OTEL_SERVICE_NAME ?? "weather-agent-api" });
  const logger = createLogger({ name: "weather-agent-api" });
  const metrics = createMetrics();
  const model = new FakeChatModel({ latencyMs: intFromEnv("FAKE_MODEL_LATENCY_MS", 300) });
  // With REDIS_URL the replicas act as one fleet: one breaker state, one model-concurrency limit, one run per thread.
  const redisUrl = process.env.REDIS_URL;
  const fleet =
    redisUrl === undefined || redisUrl === ""
      ? undefined
      : {
          breakerStore: new RedisBreakerStore({ url: redisUrl }),
          slots: new RedisSemaphoreStore({ url: redisUrl }),
          threadLocks: new RedisThreadLockStore({ url: redisUrl }),
        };
  const { graph, breaker } = buildApiAgent({
    model,
    metrics,
    logger,
    ...(fleet === undefined
      ? {}
      : {
          breakerStore: fleet.breakerStore,
          modelSlots: { store: fleet.slots, limit: intFromEnv("MODEL_CONCURRENCY", 8) },
          threadLocks: fleet.threadLocks,
        }),
  });
  const api = createAgentApp({ graph, metrics, breakers: [breaker], logger });

  const server = api.app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  logger.info({ port: (server.address() as AddressInfo).port, host }, "listening");

  let stopping: Promise<void> | undefined;
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "shutting down");
    stopping ??= gracefulShutdown({
      server,
      inFlight: api.inFlight,
      startDraining: api.startDraining,
      flushTelemetry: () => telemetry.shutdown(),
      logger,
      graceMs,
    });
    void stopping
      .then(() => {
        breaker.shutdown();
        return Promise.all([fleet?.breakerStore.close(), fleet?.slots.close(), fleet?.threadLocks.close()]);
      })
      .then(() => {
        process.exitCode = 0;
      });
  };
  // `once`: a second signal while draining gets the default action and ends the process at once.
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

runIfEntryPoint(import.meta.url, main);
