import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertFiles, resolveConfig } from "../mixin/rules/index.js";
import { dashboards } from "../mixin/dashboards/index.js";
import { analyse, substituteVariables } from "./promql-lint.js";
import { freePort, waitFor } from "./support/ports.js";
import { type PrometheusServer, startPrometheus } from "./support/prometheus.js";

// The demo's "outage" profile fails every LLM and payment call from 20% to 70% of its duration: with 50 s that is
// 10 s to 35 s, long enough for alerts with a short `for:` to fire. The LLM cost budget and time-to-first-token SLO
// are set below what the demo spends and takes, so those alerts fire on its healthy traffic too. The shipped
// defaults stay as they are.
const config = resolveConfig({
  for: { highRunErrorRate: "5s", circuitBreakerOpen: "5s", llmCostBurn: "5s", llmTimeToFirstTokenHigh: "5s" },
  thresholds: { llmCostBudgetUsdPerHour: 0.0001, llmTimeToFirstTokenP95Seconds: 0.01 },
});
const DURATION_S = 50;

interface RuleStatus {
  name: string;
  health: string;
  lastError?: string;
}
interface AlertStatus {
  labels: Record<string, string>;
  state: string;
}

describe("the demo under an outage, scraped by a real Prometheus with the generated rules", () => {
  const dir = mkdtempSync(join(tmpdir(), "lgops-e2e-demo-"));
  let demo: ChildProcess | undefined;
  let output = "";
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    const port = await freePort();
    demo = spawn(
      process.execPath,
      ["--import", "tsx", "examples/demo/main.ts", "--duration", String(DURATION_S), "--rate", "10", "--faults", "outage"].concat([
        "--port",
        String(port),
        "--logs",
        join(dir, "demo.log"),
      ]),
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: "", LANGFUSE_PUBLIC_KEY: "" } },
    );
    demo.stderr?.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-5000);
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).ok, 30_000, `the demo's /metrics\n${output}`);
    const ruleFiles: string[] = [];
    for (const [path, content] of Object.entries(alertFiles(config))) {
      if (!/prometheus_(rules|alerts)\.yaml$/.test(path)) continue;
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
      ruleFiles.push(join(dir, path));
    }
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`], ruleFiles, intervalSeconds: 1, job: "demo" });
  }, 60_000);

  afterAll(async () => {
    if (demo !== undefined && demo.exitCode === null) {
      const exited = new Promise((r) => demo?.once("exit", r));
      demo.kill("SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (demo.exitCode === null) demo.kill("SIGKILL");
    }
    await prometheus?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fires the breaker-open and high-error-rate alerts during the outage, every rule healthy", async () => {
    const prom = prometheus as PrometheusServer;
    let alerts: AlertStatus[] = [];
    const wanted = ["LangGraphCircuitBreakerOpen", "LangGraphHighRunErrorRate"];
    await waitFor(
      async () => {
        alerts = (await prom.api<{ alerts: AlertStatus[] }>("/api/v1/alerts")).alerts;
        return wanted.every((name) => alerts.some((a) => a.labels.alertname === name && a.state === "firing"));
      },
      45_000,
      "breaker-open and high-error-rate alerts to fire",
    ).catch((error: Error) => {
      throw new Error(`${error.message}; alerts: ${JSON.stringify(alerts.map((a) => [a.labels.alertname, a.state]))}\n${output}`);
    });
    expect(alerts.find((a) => a.labels.alertname === "LangGraphCircuitBreakerOpen")?.labels).toMatchObject({
      job: "demo",
      breaker: "llm-provider",
    });
    expect(alerts.find((a) => a.labels.alertname === "LangGraphHighRunErrorRate")?.labels).toMatchObject({
      job: "demo",
      graph: "support-agent",
    });
    const rules = (await prom.api<{ groups: Array<{ rules: RuleStatus[] }> }>("/api/v1/rules")).groups.flatMap((g) => g.rules);
    expect(rules.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.health} ${r.lastError ?? ""}`)).toEqual([]);
  }, 60_000);

  it("fires the LLM cost-burn and time-to-first-token alerts on the demo's priced, streamed calls", async () => {
    const prom = prometheus as PrometheusServer;
    let alerts: AlertStatus[] = [];
    const wanted = ["LangGraphLLMCostBurn", "LangGraphLLMTimeToFirstTokenHigh"];
    await waitFor(
      async () => {
        alerts = (await prom.api<{ alerts: AlertStatus[] }>("/api/v1/alerts")).alerts;
        return wanted.every((name) => alerts.some((a) => a.labels.alertname === name && a.state === "firing"));
      },
      30_000,
      "cost-burn and time-to-first-token alerts to fire",
    ).catch((error: Error) => {
      throw new Error(`${error.message}; alerts: ${JSON.stringify(alerts.map((a) => [a.labels.alertname, a.state]))}\n${output}`);
    });
    expect(alerts.find((a) => a.labels.alertname === "LangGraphLLMCostBurn")?.labels).toMatchObject({ job: "demo" });
    // The answer model is streamed as well as the priced one; both start slower than the 10 ms SLO set above.
    expect(alerts.find((a) => a.labels.alertname === "LangGraphLLMTimeToFirstTokenHigh")?.labels).toMatchObject({
      job: "demo",
      gen_ai_provider_name: "openai",
    });
  }, 40_000);

  it("returns data for every dashboard query whose metrics the demo emits", async () => {
    const prom = prometheus as PrometheusServer;
    // The outage profile has no bulkhead and no hung calls, and this test starts the demo with trace export off, so
    // these stay empty. Retries are seldom exhausted: the LLM breaker opens within a second of the outage, and an open
    // breaker ends a retry loop at once (CircuitOpenError is not retried). The demo does not guard its threads, so the
    // thread-lock series stay absent, and it has no rate limiter and no shared store. test/alerts-e2e.test.ts covers
    // them all.
    const outsideTheDemo = [
      "langgraph_node_retries_exhausted_total",
      "langgraph_node_timeouts_total",
      "langgraph_node_fallbacks_total",
      "langgraph_bulkhead_rejections_total",
      "langgraph_trace_export_spans_total",
      "langgraph_thread_lock_total",
      "langgraph_thread_lock_wait_seconds_bucket",
      "langgraph_circuit_breaker_fleet_state",
      "langgraph_rate_limit_wait_seconds_bucket",
      "langgraph_rate_limit_rejections_total",
      "langgraph_rate_limit_available",
      "langgraph_resilience_store_errors_total",
    ];
    const emitted = new Set(await prom.api<string[]>(`/api/v1/label/__name__/values?match[]=${encodeURIComponent('{job="demo"}')}`));
    const empty: string[] = [];
    const notExercised = new Set<string>();
    for (const d of Object.values(dashboards(config))) {
      for (const p of d.panels) {
        for (const t of p.targets) {
          const expr = substituteVariables(t.expr, { rateInterval: "1m", range: "1h", variable: ".+" });
          const raw = analyse(expr).selectors.flatMap((s) => (s.metric === undefined || s.metric.includes(":") ? [] : [s.metric]));
          // A seldom-seen series may exist from one early event and still have no rate over the last two minutes.
          const missing = raw.filter((m) => !emitted.has(m) || outsideTheDemo.includes(m));
          if (missing.length > 0) {
            for (const m of missing) notExercised.add(m);
            continue;
          }
          // Over the run so far, as a dashboard's time range shows it: some panels only have data while the outage
          // lasts (an open breaker), and a slow machine may get here after it ended.
          if ((await prom.queryRange(expr, 120)).length === 0) empty.push(`${d.title} / ${p.title} / ${t.refId}`);
        }
      }
    }
    expect(empty).toEqual([]);
    expect([...notExercised].filter((m) => !outsideTheDemo.includes(m))).toEqual([]);
  }, 60_000);
});
