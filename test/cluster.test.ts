/**
 * Cluster metrics: real `node:cluster` workers, each running an instrumented graph with `createMetrics({ cluster: true })`,
 * and `serveClusterMetrics()` in this (primary) process. A scrape of the primary sums counters and histograms across
 * workers (checked series by series against each worker's own exposition), adds up the in-flight gauge, takes the
 * maximum of the one-hot breaker state, and passes `promtool check metrics`.
 */
import cluster, { type Worker } from "node:cluster";
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics, type MetricsServer, serveClusterMetrics } from "../src/index.js";
import { promtool } from "./support/prometheus.js";

const WORKER = fileURLToPath(new URL("./fixtures/cluster-worker.ts", import.meta.url));
const RUNS = [4, 7, 11];

interface Ready {
  type: string;
  id: number;
  text: string;
  primaryOnly: string;
}

/** Sample lines of an exposition as `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

function scrape(url: string, gzip: boolean): Promise<{ status: number; encoding: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: gzip ? { "accept-encoding": "gzip" } : {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const raw = Buffer.concat(chunks);
        const encoding = res.headers["content-encoding"];
        resolve({ status: res.statusCode ?? 0, encoding, body: (encoding === "gzip" ? gunzipSync(raw) : raw).toString("utf8") });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("serveClusterMetrics in the primary of real node:cluster workers", () => {
  const workers: Worker[] = [];
  const ready: Ready[] = [];
  let server: MetricsServer;

  beforeAll(async () => {
    cluster.setupPrimary({ exec: WORKER, execArgv: ["--import", "tsx"], silent: false });
    const all = RUNS.map(
      (runs, index) =>
        new Promise<void>((resolve, reject) => {
          const worker = cluster.fork({ WORKER_RUNS: String(runs), OPEN_BREAKER: index === 0 ? "1" : "0" });
          workers.push(worker);
          worker.on("message", (message: Ready) => {
            if (message?.type !== "cluster-test:ready") return;
            ready.push(message);
            resolve();
          });
          worker.once("exit", (code) => reject(new Error(`worker exited early with ${code}`)));
        }),
    );
    await Promise.all(all);
    server = await serveClusterMetrics({ port: 0 });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) {
              resolve();
              return;
            }
            w.once("exit", () => resolve());
            w.kill();
          }),
      ),
    );
  });

  it("sums counters and merges histograms across workers, bucket by bucket", async () => {
    const { status, encoding, body } = await scrape(server.url, true);
    expect(status).toBe(200);
    expect(encoding).toBe("gzip");
    const total = samples(body);
    const perWorker = ready.map((r) => samples(r.text));
    expect(perWorker).toHaveLength(RUNS.length);

    // Each worker ran its own number of runs (plus one still in flight); the primary sees them all.
    const errors = RUNS.reduce((n, runs) => n + Array.from({ length: runs }, (_, i) => i).filter((i) => i % 3 === 2).length, 0);
    const all = RUNS.reduce((a, b) => a + b, 0);
    expect(total.get('langgraph_graph_runs_total{graph="clustered",status="success"}')).toBe(all - errors);
    expect(total.get('langgraph_graph_runs_total{graph="clustered",status="error"}')).toBe(errors);
    expect(total.get('langgraph_graph_run_duration_seconds_count{graph="clustered",status="success"}')).toBe(all - errors);

    // Every counter and histogram sample is the sum of the workers' samples.
    const summed = [...total.keys()].filter((k) =>
      /^(langgraph_graph_runs_total|langgraph_node_executions_total|langgraph_graph_run_duration_seconds_(bucket|sum|count)|langgraph_node_duration_seconds_(bucket|sum|count))\{/.test(
        k,
      ),
    );
    expect(summed.length).toBeGreaterThan(40);
    for (const key of summed) {
      const expected = perWorker.reduce((n, w) => n + (w.get(key) ?? 0), 0);
      expect(total.get(key), key).toBeCloseTo(expected, 9);
    }
    // The buckets differ between workers (different numbers of runs), so the sum is not any one worker's copy.
    const inf = 'langgraph_node_duration_seconds_bucket{le="+Inf",graph="clustered",node="work",status="success"}';
    expect(new Set(perWorker.map((w) => w.get(inf))).size).toBe(RUNS.length);
  });

  it("adds up the in-flight gauge and reads a breaker state as 1 when any worker is in it", async () => {
    const total = samples((await scrape(server.url, false)).body);
    expect(total.get('langgraph_graph_runs_in_flight{graph="clustered"}')).toBe(RUNS.length);
    expect(total.get('langgraph_circuit_breaker_state{breaker="cluster-dep",state="open"}')).toBe(1);
    expect(total.get('langgraph_circuit_breaker_state{breaker="cluster-dep",state="closed"}')).toBe(1);
    expect(total.get('langgraph_circuit_breaker_state{breaker="cluster-dep",state="half_open"}')).toBe(0);
    // Transitions are counted, not states: only the one worker's opening.
    expect(total.get('langgraph_circuit_breaker_transitions_total{breaker="cluster-dep",to="open"}')).toBe(1);
  });

  it("serves a valid exposition, with the probes and hardening of serveMetrics", async () => {
    const { body } = await scrape(server.url, false);
    const result = promtool(["check", "metrics"], body);
    expect(result.stderr + result.stdout).toBe("");
    expect(result.status).toBe(0);
    expect((await fetch(server.url.replace("/metrics", "/healthz"))).status).toBe(200);
    await expect(serveClusterMetrics({ port: 0, maxConection: 1 } as never)).rejects.toThrow(/unknown option "maxConection"/);
  });

  it("refuses to serve from a worker, pointing at createMetrics({ cluster: true })", () => {
    for (const r of ready) expect(r.primaryOnly).toContain("createMetrics({ cluster: true })");
  });

  it("createMetrics({ cluster: true }) outside a worker is a plain Metrics; a non-boolean is a TypeError", async () => {
    const local = createMetrics({ cluster: true });
    expect(await local.text()).toContain("langgraph_graph_runs_total");
    local.close();
    expect(() => createMetrics({ cluster: "yes" as never })).toThrow(/createMetrics\(options\)\.cluster must be a boolean/);
  });
});
