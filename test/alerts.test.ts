import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { alertDefinitions, alertFiles, defaultConfig, resolveConfig, ruleFiles } from "../mixin/rules/index.js";
import { alertTestFiles, testFileName } from "../mixin/tests/index.js";
import { promtool } from "./support/prometheus.js";

const RULES = "alerts/prometheus_rules.yaml";
const ALERTS = "alerts/prometheus_alerts.yaml";
const testFiles = readdirSync("alerts/tests")
  .filter((f) => f.endsWith(".yaml"))
  .sort();
const scratch = mkdtempSync(join(tmpdir(), "lgops-alerts-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("rule files", () => {
  it("pass promtool check rules with every lint as fatal", () => {
    const run = promtool(["check", "rules", "--lint=all", "--lint-fatal", RULES, ALERTS]);
    expect(run.stderr + run.stdout).toContain("SUCCESS");
    expect(run.status, run.stderr + run.stdout).toBe(0);
  });

  it("follow the monitoring-mixin alert style", () => {
    const runbook = readFileSync("alerts/RUNBOOK.md", "utf8");
    const alerts = alertDefinitions(defaultConfig).map((d) => d.rule);
    expect(alerts.length).toBeGreaterThanOrEqual(16);
    for (const rule of alerts) {
      expect(rule.alert).toMatch(/^LangGraph([A-Z]+[a-z0-9]+)+$/);
      expect(["critical", "warning", "info"]).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toMatch(/^[A-Z].+\.$/);
      expect(rule.annotations.summary, rule.alert).not.toContain("{{");
      expect(rule.annotations.description, rule.alert).toMatch(/\{\{ \$(labels|value)/);
      const anchor = rule.annotations.runbook_url.split("#")[1];
      expect(runbook, rule.alert).toContain(`<a id="${anchor}"></a>`);
      expect(rule).not.toHaveProperty("keep_firing_for");
    }
  });

  it("guard every ratio alert with a minimum number of events", () => {
    for (const { rule } of alertDefinitions(defaultConfig)) {
      if (!/:ratio_rate/.test(rule.expr)) continue;
      expect(rule.expr, rule.alert).toMatch(new RegExp(`>= ${defaultConfig.minEvents}$`));
    }
  });

  it("cover each of the six SLO windows pairs of the SRE workbook with the right factors", () => {
    const burns = alertDefinitions(defaultConfig).filter((d) => d.rule.alert === "LangGraphRunErrorBudgetBurn");
    expect(burns.map((d) => [d.rule.labels.long, d.rule.labels.short, d.rule.for, d.rule.labels.severity])).toEqual([
      ["1h", "5m", "2m", "critical"],
      ["6h", "30m", "15m", "critical"],
      ["1d", "2h", "1h", "warning"],
      ["3d", "6h", "3h", "warning"],
    ]);
    expect(burns[0]?.rule.expr).toContain("> (14.4 * 0.005)");
  });

  it("are all listed in the README's alert table with their for: and severity", () => {
    const readme = readFileSync("README.md", "utf8");
    const section = readme.slice(readme.indexOf("<!-- section:dashboards -->"), readme.indexOf("<!-- /section:dashboards -->"));
    for (const name of new Set(alertDefinitions(defaultConfig).map((d) => d.rule.alert))) {
      const variants = alertDefinitions(defaultConfig).filter((d) => d.rule.alert === name);
      const row = section.split("\n").find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      expect(row, name).toContain(`| ${variants.map((d) => d.rule.for ?? "–").join(" / ")} |`);
      expect(row, name).toContain(`| ${variants.map((d) => d.rule.labels.severity).join(" / ")} |`);
    }
  });

  it("render the same groups as a PrometheusRule", () => {
    const manifest = parse(readFileSync("alerts/kubernetes/prometheusrule.yaml", "utf8"));
    const { rules, alerts } = ruleFiles(defaultConfig);
    expect(manifest.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(manifest.kind).toBe("PrometheusRule");
    expect(manifest.metadata.labels.release).toBe("kube-prometheus-stack");
    expect(manifest.spec.groups).toEqual(JSON.parse(JSON.stringify([...rules.groups, ...alerts.groups])));
  });

  it("put the SLO target and thresholds of the config into the expressions", () => {
    const custom = resolveConfig({ sloTarget: 0.99, thresholds: { runErrorRatio: 0.2 }, for: { burn1h: "1m" }, selector: 'job="agents"' });
    const files = alertFiles(custom);
    expect(files[ALERTS]).toContain("> (14.4 * 0.01)");
    expect(files[ALERTS]).toContain("job_graph:langgraph_graph_runs_error:ratio_rate5m > 0.2");
    expect(files[ALERTS]).toContain("for: 1m");
    expect(files[RULES]).toContain('langgraph_graph_runs_total{status="error", job="agents"}');
    expect(files[RULES]).toContain("vector(0.99)");
  });

  it("reject bad options with a TypeError naming the option", () => {
    expect(() => resolveConfig({ sloTarget: 1.5 })).toThrow(/sloTarget/);
    expect(() => resolveConfig({ sloTarget: 1.5 })).toThrow(TypeError);
    expect(() => resolveConfig({ for: { runsStuck: "ten minutes" } })).toThrow(/for\.runsStuck/);
    expect(() => resolveConfig({ thresholds: { retryRatio: -1 } })).toThrow(/thresholds\.retryRatio/);
    expect(() => resolveConfig({ thresholds: { nodeErrorRatio: 2 } })).toThrow(/thresholds\.nodeErrorRatio/);
    expect(() => resolveConfig({ selector: "{job='x'}" })).toThrow(/selector/);
    expect(() => resolveConfig({ sloPeriod: "1d" })).toThrow(/sloPeriod/);
    expect(() => resolveConfig({ runbookUrl: "RUNBOOK.md" })).toThrow(/runbookUrl/);
  });
});

describe("promtool unit tests", () => {
  it("exist for every alert, each with a firing case and silent cases", () => {
    const names = new Set(alertDefinitions(defaultConfig).map((d) => d.rule.alert));
    expect(testFiles).toEqual([...names].map((n) => `${testFileName(n)}.yaml`).sort());
    for (const file of testFiles) {
      const doc = parse(readFileSync(`alerts/tests/${file}`, "utf8"));
      const checks = doc.tests.flatMap((t: { alert_rule_test: Array<{ exp_alerts: unknown[] }> }) => t.alert_rule_test);
      expect(
        checks.some((c: { exp_alerts: unknown[] }) => c.exp_alerts.length > 0),
        file,
      ).toBe(true);
      expect(
        checks.some((c: { exp_alerts: unknown[] }) => c.exp_alerts.length === 0),
        file,
      ).toBe(true);
      expect(doc.tests.length, file).toBeGreaterThanOrEqual(2);
    }
  });

  it.each(testFiles)(
    "%s passes promtool test rules",
    (file) => {
      const run = promtool(["test", "rules", `alerts/tests/${file}`]);
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain("SUCCESS");
    },
    120_000,
  );

  it("fail when an alert fires earlier than the tests expect", () => {
    // Rules generated with a shorter `for:` than the shipped tests assume must break the "silent just before" case.
    const dir = join(scratch, "early");
    cpSync("alerts", dir, { recursive: true });
    const early = alertFiles(resolveConfig({ for: { highRunErrorRate: "5m" } }));
    writeFileSync(join(dir, "prometheus_alerts.yaml"), early[ALERTS] ?? "");
    const run = promtool(["test", "rules", join(dir, "tests", "langgraph-high-run-error-rate.yaml")]);
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toContain("FAILED");
  });

  it("follow a customised config: every generated test passes against rules generated from it", () => {
    const config = resolveConfig({
      sloTarget: 0.99,
      for: {
        burn1h: "1m",
        highRunErrorRate: "3m",
        circuitBreakerOpen: "2m",
        retriesExhausted: "2m",
        targetDown: "3m",
        checkpointErrors: "2m",
      },
      thresholds: { runErrorRatio: 0.1, breakerFlapsPer30m: 5, tokenBudgetPerDay: 20_000_000 },
    });
    const dir = join(scratch, "custom");
    const files = { ...alertFiles(config), ...alertTestFiles(config) };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const tests = Object.keys(files).filter((p) => p.startsWith("alerts/tests/"));
    expect(tests).toHaveLength(testFiles.length);
    const run = promtool(["test", "rules", ...tests.map((p) => join(dir, p))]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
  }, 180_000);
});
