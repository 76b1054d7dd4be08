/**
 * Fleet stores: happy-path cost per call of a circuit breaker on the local store (opossum's window in the process)
 * against the same breaker on a `RedisBreakerStore` (a real redis-server on loopback, started for the run), and of
 * `withBulkhead` local against fleet-wide slots on a `RedisSemaphoreStore`. The shared breaker reads a cached fleet
 * state, so its happy path makes no Redis call; the fleet bulkhead takes and returns a lease per call (two round
 * trips), so it is reported in absolute terms. Prints the markdown section of bench/RESULTS.md.
 *
 * Run: npx tsx bench/fleet.bench.ts   (part of npm run bench)
 */
import { createCircuitBreaker, withBulkhead } from "../src/index.js";
import { RedisBreakerStore, RedisSemaphoreStore } from "../src/integrations/redis.js";
import { startRedis } from "../test/support/redis.js";
import { machine, measure, table } from "./support.js";

const redis = await startRedis();
try {
  const breakerStore = new RedisBreakerStore({ url: redis.url });
  const local = createCircuitBreaker({ name: "bench-local" });
  const shared = createCircuitBreaker({ name: "bench-shared", store: breakerStore });
  while (shared.sharedState === undefined) await new Promise((r) => setTimeout(r, 10));
  const work = async () => 1;
  const breakers = await measure(
    [
      { name: "bare call", run: work },
      { name: "breaker, local store", run: () => local.execute(work) },
      { name: "breaker, RedisBreakerStore", run: () => shared.execute(work) },
    ],
    { batch: 2000 },
  );
  const slots = new RedisSemaphoreStore({ url: redis.url });
  const node = async () => ({});
  const localBulkhead = withBulkhead(node, { limit: 8 });
  const fleetBulkhead = withBulkhead(node, { name: "bench", limit: 8, store: slots });
  const bulkheads = await measure(
    [
      { name: "bare node", run: () => node() },
      { name: "withBulkhead, local", run: () => localBulkhead({}, {}) },
      { name: "withBulkhead, RedisSemaphoreStore", run: () => fleetBulkhead({}, {}) },
    ],
    { batch: 200 },
  );
  const at = (rows: typeof breakers, name: string) => rows.find((r) => r.name === name)?.nsPerOp ?? Number.NaN;
  const overheadLocal = at(breakers, "breaker, local store") - at(breakers, "bare call");
  const overheadShared = at(breakers, "breaker, RedisBreakerStore") - at(breakers, "bare call");
  const ratio = overheadShared / overheadLocal;
  const text = [
    "## 6. Fleet stores: happy-path cost per call",
    "",
    "A breaker on a `RedisBreakerStore` acts on the fleet state it caches (refreshed by pub/sub and a flush every second), so a closed breaker's call makes no Redis round trip; its outcome is counted and flushed in batches.",
    "",
    table(breakers, "bare call"),
    "",
    `Shared breaker overhead / local breaker overhead: **${ratio.toFixed(2)}×** (target: within 2×).`,
    "",
    "A fleet bulkhead takes a lease and gives it back per call: two Redis round trips on loopback.",
    "",
    table(bulkheads, "bare node"),
  ].join("\n");
  process.stdout.write(`<!-- ${machine()} -->\n${text}\n`);
  local.shutdown();
  shared.shutdown();
  await Promise.all([breakerStore.close(), slots.close()]);
} finally {
  await redis.stop();
}
