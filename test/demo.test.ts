import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "./support/ports.js";

const root = resolve(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "lgops-demo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `npm run demo` with short settings, scraping /metrics while it runs. */
async function runDemo(args: string[], port: number): Promise<{ code: number | null; stdout: string; stderr: string; scrapes: string[] }> {
  const child = spawn("npm", ["run", "--silent", "demo", "--", ...args], { cwd: root, env: { ...process.env, FORCE_COLOR: "0" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const scrapes: string[] = [];
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    await new Promise((r) => setTimeout(r, 1000));
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      if (res.ok) scrapes.push(await res.text());
    } catch {
      // not listening yet, or already closed
    }
  }
  return { code: await exited, stdout, stderr, scrapes };
}

describe("npm run demo", () => {
  it("runs the instrumented agent with faults, serves /metrics, and prints a summary", async () => {
    const port = await freePort();
    const logs = join(dir, "demo.log");
    const { code, stdout, stderr, scrapes } = await runDemo(
      ["--duration", "14", "--rate", "12", "--port", String(port), "--logs", logs],
      port,
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("Summary");
    expect(stdout).toMatch(/trace [0-9a-f]{12}… \(ok\)/);

    expect(scrapes.length).toBeGreaterThan(3);
    const last = scrapes.at(-1) as string;
    for (const series of [
      'langgraph_graph_runs_total{graph="support-agent",status="success"}',
      "langgraph_node_executions_total",
      "langgraph_node_duration_seconds_bucket",
      "gen_ai_client_token_usage_bucket",
      "langgraph_tool_calls_total",
      "langgraph_checkpoint_operation_duration_seconds_bucket",
      'langgraph_circuit_breaker_state{breaker="llm-provider"',
    ]) {
      expect(last, series).toContain(series);
    }

    const value = (text: string, pattern: RegExp): number => {
      let total = 0;
      for (const m of text.matchAll(pattern)) total += Number(m[1]);
      return total;
    };
    expect(value(last, /^langgraph_node_retries_total\{[^}]*\} (\d+)/gm)).toBeGreaterThan(0);
    expect(value(last, /^langgraph_circuit_breaker_transitions_total\{[^}]*to="open"[^}]*\} (\d+)/gm)).toBeGreaterThan(0);

    const summaryRow = (label: string): string => new RegExp(`${label}\\s+(.+)`).exec(stdout)?.[1] ?? "";
    expect(Number(summaryRow("retries \\(withRetry \\+ RetryPolicy\\)"))).toBeGreaterThan(0);
    expect(Number(summaryRow("breaker trips \\(→ open\\)"))).toBeGreaterThan(0);

    const logLines = readFileSync(logs, "utf8").trim().split("\n");
    expect(logLines.length).toBeGreaterThan(0);
    expect(() => JSON.parse(logLines[0] as string)).not.toThrow();
  }, 90_000);
});

describe("demo shutdown", () => {
  it("drains, prints the summary and exits 0 on SIGINT", async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "examples/demo/main.ts", "--duration", "600", "--port", String(port), "--logs", join(dir, "sigint.log")],
      {
        cwd: root,
      },
    );
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    while (!stdout.includes("metrics:")) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 3000));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stdout).toContain("Summary");
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  }, 60_000);
});
