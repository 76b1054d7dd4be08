import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Annotation, START, StateGraph } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instrument } from "../src/observability/instrument.js";
import { createMetrics } from "../src/observability/metrics.js";
import { type MetricsServer, serveMetrics } from "../src/server/serve.js";
import { type PrometheusServer, startPrometheus } from "./support/prometheus.js";

const State = Annotation.Root({ fail: Annotation<boolean>() });

describe("a real Prometheus scrapes serveMetrics", () => {
  const metrics = createMetrics();
  let server: MetricsServer;
  let prometheus: PrometheusServer;
  /** A second target, `metrics.handler` on node:http, recording how each scrape asked and was answered. */
  let handlerServer: Server;
  let handlerPort = 0;
  const scrapes: Array<{ accept: string | undefined; encoding: unknown }> = [];

  beforeAll(async () => {
    server = await serveMetrics(metrics, { port: 0 });
    handlerServer = createServer((req, res) => {
      const writeHead = res.writeHead.bind(res) as (status: number, headers: Record<string, string>) => typeof res;
      (res as unknown as { writeHead: typeof writeHead }).writeHead = (status, headers) => {
        scrapes.push({ accept: req.headers["accept-encoding"], encoding: headers["content-encoding"] });
        return writeHead(status, headers);
      };
      metrics.handler(req, res);
    });
    await new Promise<void>((r) => handlerServer.listen(0, "127.0.0.1", r));
    handlerPort = (handlerServer.address() as AddressInfo).port;
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${server.port}`, `127.0.0.1:${handlerPort}`],
      intervalSeconds: 1,
      job: "e2e",
    });
  });
  afterAll(async () => {
    await prometheus?.stop();
    await server?.close();
    await new Promise<void>((r) => (handlerServer ? handlerServer.close(() => r()) : r()));
    metrics.close();
  });

  it("finds the graph's series with the values the graph produced", async () => {
    const graph = instrument(
      new StateGraph(State)
        .addNode("work", async (s) => {
          if (s.fail) throw new Error("injected");
          return {};
        })
        .addEdge(START, "work")
        .compile(),
      { metrics, name: "e2e-graph" },
    );
    const N = 12;
    const K = 3;
    for (let i = 0; i < N; i++) await graph.invoke({ fail: i < K }).catch(() => undefined);

    const query = async (q: string) => (await prometheus.query(q)).map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    // Poll until a scrape after the runs has been ingested (the test never assumes how long that takes).
    let success: Array<{ labels: Record<string, string>; value: number }> = [];
    for (let i = 0; i < 600; i++) {
      success = await query('langgraph_graph_runs_total{job="e2e",graph="e2e-graph",status="success"}');
      if (success.length === 2 && success.every((r) => r.value === N - K)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const instance = `127.0.0.1:${server.port}`;
    expect(success.map((r) => r.labels.instance).sort()).toEqual([instance, `127.0.0.1:${handlerPort}`].sort());
    success = success.filter((r) => r.labels.instance === instance);
    expect(success).toHaveLength(1);
    expect(success[0]?.value).toBe(N - K);
    // Prometheus asked for gzip and was answered with it; it decoded the series above from that body.
    expect(scrapes.length).toBeGreaterThan(0);
    expect(scrapes.filter((s) => s.accept?.includes("gzip") !== true || s.encoding !== "gzip")).toEqual([]);
    const errors = await query(`langgraph_graph_runs_total{job="e2e",instance="${instance}",graph="e2e-graph",status="error"}`);
    expect(errors[0]?.value).toBe(K);
    const nodes = await query(
      `sum by (status) (langgraph_node_executions_total{job="e2e",instance="${instance}",graph="e2e-graph",node="work"})`,
    );
    expect(Object.fromEntries(nodes.map((n) => [n.labels.status, n.value]))).toEqual({ success: N - K, error: K });
    const durations = await query(`langgraph_node_duration_seconds_count{job="e2e",instance="${instance}",node="work",status="success"}`);
    expect(durations[0]?.value).toBe(N - K);
    const inFlight = await query(`langgraph_graph_runs_in_flight{job="e2e",instance="${instance}",graph="e2e-graph"}`);
    expect(inFlight[0]?.value).toBe(0);
    const up = await query('up{job="e2e"}');
    expect(up.map((r) => r.value)).toEqual([1, 1]);
  }, 90_000);
});
