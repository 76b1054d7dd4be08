import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { resolveConfig } from "../mixin/rules/index.js";
import { generatedFiles } from "../mixin/index.js";
import { packedTarball } from "./support/packed.js";
import { promtool } from "./support/prometheus.js";

const root = resolve(import.meta.dirname, "..");
let scratch: string;
let bin: string;

/** The package unpacked on its own, with no node_modules next to it: the bin must need nothing else. */
beforeAll(async () => {
  const tarball = await packedTarball();
  scratch = mkdtempSync(join(tmpdir(), "lgops-mixin-"));
  const pkg = join(scratch, "pkg");
  mkdirSync(pkg);
  const untar = spawnSync("tar", ["xzf", tarball, "-C", pkg, "--strip-components=1"]);
  expect(untar.status).toBe(0);
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")) as { bin: Record<string, string> };
  bin = join(pkg, manifest.bin["langgraph-ops"] as string);
}, 300_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function cli(args: string[], cwd = scratch): { status: number; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) visit(full);
      else out[relative(dir, full)] = readFileSync(full, "utf8");
    }
  };
  visit(dir);
  return out;
}

function writeConfig(name: string, body: unknown): string {
  const path = join(scratch, name);
  writeFileSync(path, typeof body === "string" ? body : JSON.stringify(body, null, 2));
  return path;
}

const custom = {
  selector: 'job=~"agents.*"',
  sloTarget: 0.99,
  uidPrefix: "acme",
  dashboardTag: "acme-agents",
  runbookUrl: "https://runbooks.example.com/langgraph.md",
  thresholds: { runErrorRatio: 0.1, tokenBudgetPerDay: 20_000_000 },
  for: { burn1h: "1m", highRunErrorRate: "3m" },
};

describe("npx langgraph-ops", () => {
  it("prints its usage with --help (exit 0) and without a command (exit 2)", () => {
    const help = cli(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Usage: langgraph-ops mixin [--config <file.json>] --out <dir>");
    expect(cli(["mixin", "--help"]).stdout).toBe(help.stdout);
    // npx runs the bin file itself, so it must name its interpreter.
    expect(readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    const bare = cli([]);
    expect(bare.status).toBe(2);
    expect(bare.stdout).toBe(help.stdout);
  });

  it("generates, for the default config, exactly the shipped files, byte for byte", () => {
    const out = join(scratch, "default");
    const run = cli(["mixin", "--out", out]);
    expect(run.status, run.stderr).toBe(0);
    const written = filesUnder(out);
    const shipped = generatedFiles();
    expect(Object.keys(written).sort()).toEqual(Object.keys(shipped).sort());
    for (const path of Object.keys(shipped)) expect(written[path], path).toBe(readFileSync(join(root, path), "utf8"));
    // Every shipped dashboard, rule file and promtool test is among them.
    for (const dir of ["dashboards", "alerts", "alerts/tests"]) {
      for (const file of readdirSync(join(root, dir)).filter((f) => /\.(json|yaml)$/.test(f))) {
        expect(written, `${dir}/${file}`).toHaveProperty([`${dir}/${file}`]);
      }
    }
    expect(cli(["mixin", "--out", out, "--check"]).status).toBe(0);
  });

  it("follows a custom config where it should, and promtool checks and tests the rules it wrote", () => {
    const out = join(scratch, "custom");
    const run = cli(["mixin", "--config", writeConfig("custom.json", custom), "--out", out]);
    expect(run.status, run.stderr).toBe(0);
    const written = filesUnder(out);
    // The bundled bin and the generators in this repository agree on the custom config too.
    expect(written).toEqual(generatedFiles(resolveConfig(custom)));

    const rules = written["alerts/prometheus_rules.yaml"] as string;
    const alerts = written["alerts/prometheus_alerts.yaml"] as string;
    expect(rules).toContain('job=~"agents.*"');
    expect(rules).toMatch(/record: slo:objective:ratio\n\s+expr: vector\(0\.99\)\n/);
    expect(alerts).toContain("https://runbooks.example.com/langgraph.md#alert-name-");
    expect(alerts).not.toContain("alerts/RUNBOOK.md#");
    const overview = JSON.parse(written["dashboards/langgraph-overview.json"] as string) as { uid: string; tags: string[] };
    expect(overview.uid.startsWith("acme")).toBe(true);
    expect(overview.tags).toContain("acme-agents");
    const shipped = generatedFiles();
    for (const path of ["alerts/prometheus_rules.yaml", "alerts/kubernetes/prometheusrule.yaml", "dashboards/kubernetes/configmaps.yaml"]) {
      expect(written[path], path).not.toBe(shipped[path]);
    }
    const manifests = (written["dashboards/kubernetes/configmaps.yaml"] as string).split(/^---$/m).map((doc) => parse(doc));
    expect(manifests.map((m: { kind: string }) => m.kind)).toEqual(Array(4).fill("ConfigMap"));

    const check = promtool([
      "check",
      "rules",
      "--lint=all",
      "--lint-fatal",
      join(out, "alerts/prometheus_rules.yaml"),
      join(out, "alerts/prometheus_alerts.yaml"),
    ]);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const tests = Object.keys(written)
      .filter((path) => path.startsWith("alerts/tests/"))
      .map((path) => join(out, path));
    expect(tests.length).toBeGreaterThanOrEqual(16);
    const test = promtool(["test", "rules", ...tests]);
    expect(test.status, test.stdout + test.stderr).toBe(0);
  }, 180_000);

  it("reports files that drifted from the config with --check (exit 1), naming them", () => {
    const out = join(scratch, "drift");
    expect(cli(["mixin", "--out", out]).status).toBe(0);
    writeFileSync(join(out, "dashboards/langgraph-llm.json"), "{}\n");
    const check = cli(["mixin", "--out", out, "--check"]);
    expect(check.status).toBe(1);
    expect(check.stderr).toContain("dashboards/langgraph-llm.json");
    expect(check.stderr).not.toContain("dashboards/langgraph-nodes.json");
  });

  it.each([
    [
      { sloTarget: 0.99, sloTraget: 0.999 },
      'mixin config: unknown option "sloTraget" (did you mean "sloTarget"?); accepted options are selector, sloTarget',
    ],
    [
      { thresholds: { retryRatoi: 0.5 } },
      'mixin config.thresholds: unknown option "retryRatoi" (did you mean "retryRatio"?); accepted options are runErrorRatio',
    ],
    [{ for: { runsStuck: 10 } }, 'mixin config.for.runsStuck must be a Prometheus duration like "5m" or "1h30m", got 10'],
    [
      { for: { runsStuck: "ten minutes" } },
      'mixin config.for.runsStuck must be a Prometheus duration like "5m" or "1h30m", got "ten minutes"',
    ],
    [{ sloTarget: "0.99" }, 'mixin config.sloTarget must be a ratio > 0 and < 1, got "0.99"'],
    [{ sloTarget: 1.5 }, "mixin config.sloTarget must be a ratio > 0 and < 1, got 1.5"],
    [{ thresholds: { nodeErrorRatio: 2 } }, "mixin config.thresholds.nodeErrorRatio must be a ratio > 0 and < 1, got 2"],
    [{ thresholds: "high" }, 'mixin config.thresholds must be an options object, got "high"'],
    [{ selector: "{job='x'}" }, "mixin config.selector must be label matchers without braces"],
    [[], "mixin config must be an options object, got an array"],
  ])("rejects the config %j: exit 1, the key path named, nothing written", (body, message) => {
    const path = writeConfig("bad.json", body);
    const out = join(scratch, "bad");
    const run = cli(["mixin", "--config", path, "--out", out]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`langgraph-ops: ${path}: ${message}`);
    expect(() => readdirSync(out)).toThrow();
  });

  it("rejects a file that is not JSON, a missing file, a missing --out and an unknown command", () => {
    const notJson = cli(["mixin", "--config", writeConfig("broken.json", "{ sloTarget: 0.99 }"), "--out", "x"]);
    expect(notJson.status).toBe(1);
    expect(notJson.stderr).toMatch(/broken\.json is not valid JSON/);
    const missing = cli(["mixin", "--config", join(scratch, "nope.json"), "--out", "x"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("cannot read the config file");
    const noOut = cli(["mixin"]);
    expect(noOut.status).toBe(2);
    expect(noOut.stderr).toContain("--out <dir> is required");
    const unknown = cli(["dashboards"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "dashboards"');
  });

  it("prints the resolved config as a starting point (--print-config), which it accepts back", () => {
    const printed = cli(["mixin", "--config", writeConfig("partial.json", { sloTarget: 0.999 }), "--print-config"]);
    expect(printed.status, printed.stderr).toBe(0);
    const config = JSON.parse(printed.stdout) as { sloTarget: number; thresholds: Record<string, number> };
    expect(config.sloTarget).toBe(0.999);
    expect(config.thresholds.runErrorRatio).toBe(resolveConfig().thresholds.runErrorRatio);
    const out = join(scratch, "printed");
    expect(cli(["mixin", "--config", writeConfig("full.json", config), "--out", out]).status).toBe(0);
    expect(filesUnder(out)).toEqual(generatedFiles(resolveConfig({ sloTarget: 0.999 })));
  });
});
