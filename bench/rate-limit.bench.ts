/**
 * Rate limiter: the happy-path cost per call (capacity available, nothing waits) of `withRateLimit` over a bare
 * async node, with the state in this process and in Redis (one script round trip per call to a loopback
 * redis-server started for the run), requests only and requests + tokens (estimate reserved, usage settled).
 * Writes bench/results/rate-limit.md; `npm run bench` includes it.
 *
 * Run: npm run bench:rate-limit
 */
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { createRateLimiter, withRateLimit } from "../src/index.js";
import { RedisRateLimitStore } from "../src/integrations/redis.js";
import { startRedis } from "../test/support/redis.js";
import { machine, measure, table, writeResults } from "./support.js";

const state = { messages: [new HumanMessage("What is the weather in Paris today?")] };
const answer = new AIMessage({ content: "Sunny.", usage_metadata: { input_tokens: 14, output_tokens: 3, total_tokens: 17 } });
const bare = async (_s: typeof state) => ({ messages: [answer] });
// Limits far above what one process reaches, so every call is granted at once: the cost of the bookkeeping alone.
const LIMITS = { requestsPerMinute: 1e9, tokensPerMinute: 1e12 };

async function main(): Promise<void> {
  const redis = await startRedis();
  const store = new RedisRateLimitStore({ url: redis.url });
  try {
    const local = withRateLimit(bare, createRateLimiter({ name: "bench-local", requestsPerMinute: 1e9 }));
    const localTokens = withRateLimit(bare, createRateLimiter({ name: "bench-local-tokens", ...LIMITS }));
    const shared = withRateLimit(bare, createRateLimiter({ name: "bench-redis", requestsPerMinute: 1e9, store }));
    const sharedTokens = withRateLimit(bare, createRateLimiter({ name: "bench-redis-tokens", ...LIMITS, store }));
    const inProcess = await measure(
      [
        { name: "bare node", run: () => bare(state) },
        { name: "withRateLimit, in-memory, requests", run: () => local(state, {}) },
        { name: "withRateLimit, in-memory, requests + tokens", run: () => localTokens(state, {}) },
      ],
      { batch: 1000 },
    );
    const overRedis = await measure(
      [
        { name: "bare node", run: () => bare(state) },
        { name: "withRateLimit, Redis, requests", run: () => shared(state, {}) },
        { name: "withRateLimit, Redis, requests + tokens", run: () => sharedTokens(state, {}) },
      ],
      { batch: 50 },
    );
    const text = `## Rate limiter: happy-path cost per call

<!-- ${machine()} -->
Capacity available on every call (limits far above the load), so this is the limiter's bookkeeping: a GCRA step on
local state, or one Lua script round trip to a loopback redis-server (server time, decide and reserve in one call).
With tokens, the estimate is read from the messages before the call and the usage settled from the answer's
\`usage_metadata\` after it (a second, unawaited script call when the two differ).

### In-memory store (one process)

${table(inProcess, "bare node")}

### RedisRateLimitStore (loopback redis-server)

${table(overRedis, "bare node")}
`;
    writeResults("bench/results/rate-limit.md", text);
    process.stdout.write(`<!-- ${machine()} -->\n${text}`);
  } finally {
    await store.close();
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
