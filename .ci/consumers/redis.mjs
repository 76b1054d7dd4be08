// Consumer: langgraph-ops/redis on the ioredis the fixture installed, against a real redis-server on loopback: two
// runs with the same request id execute the node once, the second replays the result recorded in Redis.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { withIdempotency } from "langgraph-ops";
import { RedisIdempotencyStore } from "langgraph-ops/redis";
import { Redis } from "ioredis";
import { doublingGraph } from "./graph.mjs";
import { check } from "./receiver.mjs";

const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const server = spawn(
  process.env.REDIS_SERVER ?? "redis-server",
  ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
  {
    stdio: "ignore",
  },
);
server.on("error", (error) => {
  console.error(`!! cannot start redis-server (${error.message}); install it or set REDIS_SERVER`);
  process.exit(1);
});
const url = `redis://127.0.0.1:${port}`;
// The client connects at once and retries every 100 ms until redis-server accepts (refused connections while it
// starts are expected); a second connect() on a reconnecting client throws in ioredis 6, so readiness is awaited.
const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
client.on("error", () => undefined);
try {
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server on ${url} not ready within 10 s`)), 10_000);
    client.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const store = new RedisIdempotencyStore({ client, keyPrefix: "consumer:" });
  let executions = 0;
  const node = withIdempotency(
    async (state) => {
      executions++;
      return { n: state.n * 2 };
    },
    { store, key: (state) => state.requestId },
  );
  const graph = doublingGraph(node);
  const first = await graph.invoke({ n: 5, requestId: "req-1" });
  const second = await graph.invoke({ n: 5, requestId: "req-1" });
  check(first.n === 10 && second.n === 10, "both runs return the node's result");
  check(executions === 1, `the node ran once for one request id (ran ${executions}x)`);
  const keys = await client.keys("consumer:*");
  check(keys.length === 1 && keys[0].endsWith("req-1"), `one record in Redis under the store's prefix (${keys.join(", ")})`);
  const recorded = await client.get(keys[0]);
  check(typeof recorded === "string" && recorded.startsWith("V"), "it holds the completed result, not a lease");
} finally {
  client.disconnect();
  server.kill("SIGTERM");
}
