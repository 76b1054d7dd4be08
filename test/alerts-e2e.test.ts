import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertFiles, resolveConfig } from "../mixin/rules/index.js";
import { dashboards } from "../mixin/dashboards/index.js";
import { createMetrics, type Metrics } from "../src/observability/metrics.js";
import { type MetricsServer, serveMetrics } from "../src/server/serve.js";
import { substituteVariables } from "./promql-lint.js";
import { createWorkload, WORKLOAD_PRICES, type Workload } from "./promql-lint-workload.js";
import { waitFor } from "./support/ports.js";
import { type PrometheusServer, promtool, startPrometheus } from "./support/prometheus.js";

// Short `for:` so the alerts fire within seconds; the shipped defaults stay as they are.
const config = resolveConfig({ for: { highRunErrorRate: "5s", circuitBreakerOpen: "5s" } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RuleStatus {
  name: string;
  type: "recording" | "alerting";
  health: string;
  lastError?: string;
  lastEvaluation: string;
}
interface AlertStatus {
  labels: Record<string, string>;
  state: string;
}

describe("a real Prometheus scraping an instrumented graph under load, with the generated rules", () => {
  const dir = mkdtempSync(join(tmpdir(), "lgops-e2e-"));
  let metrics: Metrics;
  let workload: Workload;
  let server: MetricsServer;
  let prometheus: PrometheusServer | undefined;
  let target = "";
  let loading = true;
  let load: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    metrics = createMetrics({ prices: WORKLOAD_PRICES });
    workload = createWorkload(metrics, "support", "llm-provider");
    server = await serveMetrics(metrics, { port: 0 });
    target = `127.0.0.1:${server.port}`;
    const ruleFiles: string[] = [];
    for (const [path, content] of Object.entries(alertFiles(config))) {
      if (!path.endsWith("prometheus_rules.yaml") && !path.endsWith("prometheus_alerts.yaml")) continue;
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
      ruleFiles.push(join(dir, path));
    }
    load = (async () => {
      while (loading) {
        await workload.batch(4);
        await sleep(40);
      }
    })();
    prometheus = await startPrometheus({ targets: [target], ruleFiles, intervalSeconds: 1, job: "agents" });
  });

  afterAll(async () => {
    loading = false;
    await load;
    await prometheus?.stop();
    await server.close();
    metrics.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("scrapes a /metrics that passes promtool check metrics", async () => {
    const body = await (await fetch(server.url)).text();
    const run = promtool(["check", "metrics"], body);
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it("evaluates every recording and alerting rule with health ok", async () => {
    const prom = prometheus as PrometheusServer;
    let rules: RuleStatus[] = [];
    await waitFor(
      async () => {
        const data = await prom.api<{ groups: Array<{ rules: RuleStatus[] }> }>("/api/v1/rules");
        rules = data.groups.flatMap((g) => g.rules);
        return rules.length > 0 && rules.every((r) => r.health !== "unknown");
      },
      30_000,
      "every rule to be evaluated",
    );
    expect(rules.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.health} ${r.lastError ?? ""}`)).toEqual([]);
    expect(rules.filter((r) => r.type === "alerting").length).toBeGreaterThanOrEqual(16);
  }, 40_000);

  it("fires the breaker-open and high-error-rate alerts while faults are injected", async () => {
    const prom = prometheus as PrometheusServer;
    // Let a few healthy scrapes in first, so the error ratio has a healthy baseline to rise from.
    await waitFor(async () => (await prom.query('langgraph_graph_runs_total{status="success"}')).length > 0, 20_000, "healthy runs");
    workload.faults.on = true;
    const wanted = ["LangGraphCircuitBreakerOpen", "LangGraphHighRunErrorRate"];
    let alerts: AlertStatus[] = [];
    const seenPending = new Set<string>();
    await waitFor(
      async () => {
        alerts = (await prom.api<{ alerts: AlertStatus[] }>("/api/v1/alerts")).alerts;
        for (const a of alerts) if (a.state === "pending") seenPending.add(a.labels.alertname ?? "");
        return wanted.every((name) => alerts.some((a) => a.labels.alertname === name && a.state === "firing"));
      },
      60_000,
      "breaker-open and high-error-rate alerts to fire",
    ).catch((error: Error) => {
      throw new Error(`${error.message}; alerts: ${JSON.stringify(alerts.map((a) => [a.labels.alertname, a.state]))}`);
    });
    const firing = alerts.filter((a) => a.state === "firing");
    expect(firing.find((a) => a.labels.alertname === "LangGraphCircuitBreakerOpen")?.labels).toMatchObject({
      job: "agents",
      breaker: "llm-provider",
    });
    expect(firing.find((a) => a.labels.alertname === "LangGraphHighRunErrorRate")?.labels).toMatchObject({
      job: "agents",
      graph: "support",
    });
  }, 90_000);

  it("returns data for every dashboard query, variables substituted", async () => {
    const prom = prometheus as PrometheusServer;
    // Faults are on since the previous test; let the breaker recover once so every transition exists.
    workload.faults.on = false;
    await waitFor(
      async () => (await prom.query('langgraph_circuit_breaker_transitions_total{to="closed"}')).length > 0,
      20_000,
      "the breaker to close again",
    );
    const queries = Object.values(dashboards(config)).flatMap((d) =>
      d.panels.flatMap((p) =>
        p.targets.map((t) => ({
          where: `${d.title} / ${p.title} / ${t.refId}`,
          expr: substituteVariables(t.expr, { rateInterval: "1m", range: "1h", variable: ".+" }),
        })),
      ),
    );
    const empty: string[] = [];
    for (const q of queries) if ((await prom.query(q.expr)).length === 0) empty.push(q.where);
    expect(empty).toEqual([]);
    expect(queries.length).toBeGreaterThan(40);
    // The template variables' label_values() queries, as Grafana sends them (match[] + label values API).
    for (const d of Object.values(dashboards(config))) {
      for (const v of d.templating.list) {
        const q = typeof v.query === "string" ? v.query : v.query.query;
        const match = /^label_values\((.*),\s*(\w+)\)$/.exec(q);
        if (match === null) continue;
        const selector = substituteVariables(match[1] ?? "", { variable: ".+" });
        const values = await prom.api<string[]>(`/api/v1/label/${match[2]}/values?match[]=${encodeURIComponent(selector)}`);
        const expected: Record<string, string[]> = {
          job: ["agents"],
          instance: [target],
          graph: ["support"],
          node: ["approve", "call_model", "guarded", "rate_limited", "slow_step", "use_tool"],
          model: ["fake-large"],
        };
        expect(values, `${d.title} $${v.name}`).toEqual(expected[v.name]);
      }
    }
  }, 60_000);
});
