/**
 * Fleet resilience across replica processes on one real Redis: a provider outage against 4 replicas with a shared
 * breaker and, in the same run, with per-process breakers; Redis SIGKILLed and restarted under load; a fleet-wide
 * bulkhead whose slots outlive a killed holder only for their lease.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeProvider, startFakeProvider } from "./support/fake-provider.js";
import { type FleetReplica, startFleetReplica } from "./support/fleet-replicas.js";
import { waitFor } from "./support/ports.js";
import { type RedisServer, startRedis } from "./support/redis.js";

interface Drive {
  id?: string;
  ok: number;
  provider: number;
  rejected: number;
  other: number;
  message: string;
}
interface Stats {
  state: string;
  sharedState: string | null;
  storeErrors: number;
}

const VOLUME = 8;
const RESET_MS = 700;
const REPLICAS = 4;

let redis: RedisServer;
let provider: FakeProvider;
/** Arrival time of every provider request. */
const arrivals: number[] = [];
const started: FleetReplica[] = [];

beforeAll(async () => {
  redis = await startRedis();
  provider = await startFakeProvider({
    admit: () => {
      arrivals.push(Date.now());
      return undefined;
    },
  });
}, 60_000);
// Each case starts from an empty fleet state.
beforeEach(async () => {
  const client = new Redis(redis.url);
  await client.flushall();
  client.disconnect();
});
afterAll(async () => {
  await Promise.all(started.map((r) => r.kill()));
  await provider?.close();
  await redis?.stop();
});

async function replicas(mode: string, extra: Record<string, string> = {}, count = REPLICAS): Promise<FleetReplica[]> {
  const env = {
    REDIS_URL: redis.url,
    PROVIDER_URL: provider.openaiBaseURL,
    MODE: mode,
    VOLUME: String(VOLUME),
    RESET_MS: String(RESET_MS),
    ...extra,
  };
  const out = await Promise.all(Array.from({ length: count }, (_, i) => startFleetReplica(`${mode}-${i}`, env)));
  started.push(...out);
  return out;
}

const stopAll = (rs: FleetReplica[]) => Promise.all(rs.map((r) => r.stop()));

/** The requests of an outage: the burst before the breakers open, then the probes (split at the first quiet gap). */
function outage(times: number[]): { burst: number; probes: number[] } {
  const gap = times.findIndex((t, i) => i > 0 && t - (times[i - 1] as number) > RESET_MS / 2);
  return gap < 0 ? { burst: times.length, probes: [] } : { burst: gap, probes: times.slice(gap) };
}

const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - (times[i] as number));

describe("a provider outage across 4 replica processes", () => {
  it("a shared breaker lets at most volumeThreshold (+ in flight) fail and one probe per reset period; per-process breakers about 4x", async () => {
    provider.failAlways({ fault: "server_error", status: 503 });

    const shared = await replicas("shared");
    arrivals.length = 0;
    const sharedRuns = await Promise.all(shared.map((r) => r.send<Drive>({ cmd: "drive", ms: 4000 })));
    const sharedTimes = [...arrivals];
    await stopAll(shared);

    const local = await replicas("local");
    arrivals.length = 0;
    const localRuns = await Promise.all(local.map((r) => r.send<Drive>({ cmd: "drive", ms: 4000 })));
    const localTimes = [...arrivals];
    await stopAll(local);
    provider.clear();

    const s = outage(sharedTimes);
    const l = outage(localTimes);
    console.log(
      `outage: shared burst ${s.burst}, probes ${s.probes.length} (gaps ${gaps(s.probes).join(",")} ms); ` +
        `per-process burst ${l.burst}, probes ${l.probes.length}`,
    );
    for (const run of [...sharedRuns, ...localRuns]) expect(run.other, run.message).toBe(0);
    // Every replica ended up rejecting.
    for (const run of [...sharedRuns, ...localRuns]) expect(run.rejected).toBeGreaterThan(0);
    // Pooled: the fleet opens at the single-process threshold, plus at most one call in flight per replica.
    expect(s.burst).toBeGreaterThanOrEqual(VOLUME);
    expect(s.burst).toBeLessThanOrEqual(VOLUME + REPLICAS);
    // Per process: each replica learns the outage on its own.
    expect(l.burst).toBeGreaterThanOrEqual(REPLICAS * VOLUME);
    // One probe per reset period fleet-wide: probes are a reset period apart (Redis time; a few ms of slack for the request).
    expect(s.probes.length).toBeGreaterThanOrEqual(2);
    for (const g of gaps(s.probes)) expect(g).toBeGreaterThanOrEqual(RESET_MS - 30);
    // Per process, every replica probes: one probe per replica and period, close together.
    expect(l.probes.length).toBeGreaterThanOrEqual(REPLICAS);
    expect(Math.min(...gaps(l.probes))).toBeLessThan(RESET_MS / 2);
  }, 120_000);
});

describe("Redis SIGKILLed and restarted under load", () => {
  it("fails no run, counts the fallback in the store errors metric, and pools again once Redis is back", async () => {
    // A short window, so the successes before the outage below have left it when the outage starts.
    const rollingMs = 1000;
    const fleet = await replicas("shared", { ROLLING_MS: String(rollingMs) });
    const driving = Promise.all(fleet.map((r) => r.send<Drive>({ cmd: "drive", ms: 3000 })));
    await new Promise((r) => setTimeout(r, 500));
    await redis.kill();
    await new Promise((r) => setTimeout(r, 1000));
    const during = await Promise.all(fleet.map((r) => r.send<Stats>({ cmd: "stats" })));
    await redis.restart();
    const runs = await driving;
    for (const { id: _, ...run } of runs)
      expect({ ...run, ok: run.ok > 0 }).toEqual({ ok: true, provider: 0, rejected: 0, other: 0, message: "" });
    for (const s of during) {
      expect(s.sharedState).toBeNull(); // on the local window
      expect(s.storeErrors).toBeGreaterThan(0);
    }
    // Back on the fleet state.
    await waitFor(
      async () => (await Promise.all(fleet.map((r) => r.send<Stats>({ cmd: "stats" })))).every((s) => s.sharedState === "closed"),
      10_000,
      "every replica reads the fleet state again",
    );
    // The drive's last successes reach the pooled window at their flush (the fixture's flushIntervalMs after the
    // call, later on a loaded machine) and stay there a rolling window: only once they have left does the window hold
    // the outage's failures alone, so that it opens at VOLUME failures and not at VOLUME calls of which some succeeded.
    await new Promise((r) => setTimeout(r, 2 * rollingMs));
    provider.failAlways({ fault: "server_error", status: 503 });
    arrivals.length = 0;
    const outageRuns = await Promise.all(fleet.map((r) => r.send<Drive>({ cmd: "drive", ms: 600 })));
    // The drive (600 ms) ends before the first probe could come (a reset period after opening): every arrival is
    // part of the burst, counted without the gap heuristic that a stalled replica on a loaded machine can cut short.
    const burst = arrivals.length;
    const after = await Promise.all(fleet.map((r) => r.send<Stats>({ cmd: "stats" })));
    provider.clear();
    await stopAll(fleet);
    for (const run of outageRuns) expect(run.other, run.message).toBe(0);
    // Pooled again: the fleet opened at the single-process threshold.
    expect(burst).toBeGreaterThanOrEqual(VOLUME);
    expect(burst).toBeLessThanOrEqual(VOLUME + REPLICAS);
    for (const s of after) expect(s.sharedState).toBe("open");
  }, 120_000);
});

describe("a fleet bulkhead on Redis", () => {
  let server: Server;
  let url: string;
  let running = 0;
  let maxRunning = 0;
  let arrivedAfter: (() => void) | undefined;
  beforeAll(async () => {
    server = createServer((req, res) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      arrivedAfter?.();
      const done = (): void => {
        running -= 1;
      };
      if (req.url === "/hang") {
        req.socket.once("close", done);
        return;
      }
      setTimeout(() => {
        done();
        res.end("ok");
      }, 20);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const bulkheads = (mode: string, extra: Record<string, string>, count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, i) => {
        const r = startFleetReplica(`${mode}-${i}`, { REDIS_URL: redis.url, PROVIDER_URL: url, MODE: mode, LIMIT: "2", ...extra });
        void r.then((x) => started.push(x));
        return r;
      }),
    );

  it("3 processes with limit 2 never run more than 2 calls at the provider; per-process limits run up to 6", async () => {
    const calls = (rs: FleetReplica[]) =>
      Promise.all(
        rs.flatMap((r) => Array.from({ length: 12 }, () => r.send<{ ok: boolean; message?: string }>({ cmd: "call", path: "/slow" }))),
      );
    const fleet = await bulkheads("bulkhead", { QUEUE: "100" }, 3);
    maxRunning = 0;
    const fleetAnswers = await calls(fleet);
    const fleetMax = maxRunning;
    await stopAll(fleet);
    const local = await bulkheads("bulkhead-local", { QUEUE: "100" }, 3);
    maxRunning = 0;
    const localAnswers = await calls(local);
    const localMax = maxRunning;
    await stopAll(local);
    console.log(`bulkhead: max concurrent at the provider ${fleetMax} fleet-wide, ${localMax} per process`);
    expect(fleetAnswers.filter((a) => !a.ok)).toEqual([]);
    expect(localAnswers.filter((a) => !a.ok)).toEqual([]);
    expect(fleetMax).toBe(2);
    expect(localMax).toBeGreaterThan(2);
  }, 120_000);

  it("a SIGKILLed holder's slots come back after their lease", async () => {
    const [holder, waiter] = await bulkheads("bulkhead", { QUEUE: "4", LEASE_MS: "1200" }, 2);
    if (holder === undefined || waiter === undefined) throw new Error("replicas");
    running = 0;
    void holder.send({ cmd: "call", path: "/hang" }).catch(() => undefined);
    void holder.send({ cmd: "call", path: "/hang" }).catch(() => undefined);
    await waitFor(async () => running === 2, 10_000, "the holder takes both slots");
    let arrived = false;
    arrivedAfter = () => {
      arrived = true;
    };
    const blocked = waiter.send<{ ok: boolean; message?: string }>({ cmd: "call", path: "/slow" });
    // Renewed leases hold: the waiter stays queued past a full lease while the holder lives.
    await new Promise((r) => setTimeout(r, 1800));
    expect(arrived).toBe(false);
    await holder.kill();
    const answer = await blocked;
    arrivedAfter = undefined;
    expect(answer).toMatchObject({ ok: true });
    expect(arrived).toBe(true);
    await waiter.stop();
  }, 120_000);
});
