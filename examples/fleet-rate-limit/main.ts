/**
 * Fleet rate limiting: three replicas of an agent share one provider API key whose limit is 600 requests/min,
 * enforced as the provider does it, 10 per second. Each replica wraps its chat model with
 * `resilientModel({ rateLimit })`. First every replica limits on its own (each believes it has the whole key): the
 * provider answers 429 to a good share of the calls. Then the replicas share one limiter through a store: with
 * `REDIS_URL` set, a `RedisRateLimitStore` per replica (what separate processes do); without it, one in-memory store
 * stands in for Redis. The calls are spread over the seconds and none meets a 429.
 *
 * The provider is offline (the kit's fake chat model with a quantized 10-per-second limit), so no API key is needed.
 *
 * Run: npx tsx examples/fleet-rate-limit/main.ts   (REDIS_URL=redis://127.0.0.1:6379 for the Redis store)
 */
import { HumanMessage } from "@langchain/core/messages";
import { createMetrics, createRateLimiter, InMemoryRateLimitStore, type RateLimitStore, resilientModel } from "../../src/index.js"; // in your app: "langgraph-ops"
import { RedisRateLimitStore } from "../../src/integrations/redis.js"; // in your app: "langgraph-ops/redis"
import { FakeChatModel } from "../shared/fake-chat-model.js";
import { runIfEntryPoint } from "../shared/run-main.js";

const PROVIDER_RPM = 600;
/** 5% under the provider's limit: room for a request that reaches the provider a little late. */
const LIMIT_RPM = 570;
const REPLICAS = 3;
const CALLS_PER_REPLICA = 8;

/** What one phase of the example produced. */
export interface PhaseResult {
  answered: number;
  provider429: number;
}

/** What the example produced. */
export interface FleetRateLimitResult {
  perReplica: PhaseResult;
  shared: PhaseResult;
  store: "redis" | "in-memory";
  /** The rate-limit series of the scrape. */
  metricLines: string[];
}

/** The provider's side: 600 requests/min as 10 per one-second window, 429 with OpenAI's headers past them. */
function providerBudget() {
  let window = -1;
  let used = 0;
  let refused = 0;
  return {
    refused: () => refused,
    check(): Error | undefined {
      const now = Date.now();
      const w = Math.floor(now / 1000);
      if (w !== window) {
        window = w;
        used = 0;
      }
      if (used < PROVIDER_RPM / 60) {
        used += 1;
        return undefined;
      }
      refused += 1;
      const resetMs = String(1000 - (now % 1000));
      return Object.assign(new Error("Rate limit reached for requests"), {
        status: 429,
        headers: { "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": `${resetMs}ms`, "retry-after-ms": resetMs },
      });
    },
  };
}

async function phase(storeFor: (replica: number) => RateLimitStore | undefined, name: string): Promise<PhaseResult> {
  const provider = providerBudget();
  const replicas = Array.from({ length: REPLICAS }, (_, i) => {
    const store = storeFor(i);
    const limiter = createRateLimiter({ name, requestsPerMinute: LIMIT_RPM, maxWaitMs: 10_000, ...(store ? { store } : {}) });
    return resilientModel(new FakeChatModel({ fail: () => provider.check() }), { rateLimit: limiter, retry: { retries: 0 } });
  });
  let answered = 0;
  await Promise.all(
    replicas.flatMap((llm, r) =>
      Array.from({ length: CALLS_PER_REPLICA }, async (_, i) => {
        try {
          await llm.invoke([new HumanMessage(`replica ${r}, question ${i}`)]);
          answered += 1;
        } catch {
          // a 429 from the provider, counted below
        }
      }),
    ),
  );
  return { answered, provider429: provider.refused() };
}

/** Runs both phases and prints what happened. */
export async function main(): Promise<FleetRateLimitResult> {
  const metrics = createMetrics();
  const url = process.env.REDIS_URL;
  const perReplica = await phase(() => undefined, "provider-alone");
  const redisStores = url === undefined ? [] : Array.from({ length: REPLICAS }, () => new RedisRateLimitStore({ url }));
  const inMemory = new InMemoryRateLimitStore();
  try {
    const shared = await phase((i) => redisStores[i] ?? inMemory, "provider-shared");
    const metricLines = (await metrics.text()).split("\n").filter((l) => l.startsWith("langgraph_rate_limit_") && !l.includes("_bucket"));
    const result: FleetRateLimitResult = { perReplica, shared, store: url === undefined ? "in-memory" : "redis", metricLines };
    console.log(`each replica on its own: ${perReplica.answered} answered, ${perReplica.provider429} refused by the provider (429)`);
    console.log(
      `one shared limiter (${result.store} store): ${shared.answered} answered, ${shared.provider429} refused by the provider (429)`,
    );
    console.log(metricLines.join("\n"));
    return result;
  } finally {
    await Promise.all(redisStores.map((s) => s.close()));
  }
}

runIfEntryPoint(import.meta.url, main);
