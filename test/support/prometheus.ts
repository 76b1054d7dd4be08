import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { requireBinary } from "./binaries.js";
import { freePort, waitFor } from "./ports.js";

/** Result of a promtool invocation. */
export interface PromtoolResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `promtool` with `args` (and optional stdin). */
export function promtool(args: string[], input?: string): PromtoolResult {
  const bin = requireBinary("promtool");
  const run = spawnSync(bin, args, { input, encoding: "utf8", timeout: 120_000 });
  return { status: run.status ?? -1, stdout: run.stdout ?? "", stderr: run.stderr ?? "" };
}

/** A Prometheus server running on loopback in a temp dir. */
export interface PrometheusServer {
  url: string;
  /** GET /api/v1/query with `query`; returns the result vector. */
  query(query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** GET /api/v1/query_range with `query` over the last `seconds` (1 s step); returns the series that had a value. */
  queryRange(query: string, seconds: number): Promise<Array<{ metric: Record<string, string>; values: Array<[number, string]> }>>;
  /** GET an API path (e.g. "/api/v1/rules") and return `data`. */
  api<T = unknown>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `targets` ("127.0.0.1:PORT") every `intervalSeconds`, with optional rule files. */
export async function startPrometheus(options: {
  targets: string[];
  metricsPath?: string;
  intervalSeconds?: number;
  ruleFiles?: string[];
  job?: string;
}): Promise<PrometheusServer> {
  const bin = requireBinary("prometheus");
  const dir = mkdtempSync(join(tmpdir(), "lgops-prom-"));
  const port = await freePort();
  const interval = `${options.intervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [
      {
        job_name: options.job ?? "langgraph-app",
        metrics_path: options.metricsPath ?? "/metrics",
        static_configs: [{ targets: options.targets }],
      },
    ],
  };
  writeFileSync(join(dir, "prometheus.yml"), stringify(config));
  const child: ChildProcess = spawn(
    bin,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--web.enable-lifecycle",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, 30_000, `prometheus on ${url}\n${log}`);
  } catch (error) {
    await stop();
    throw error;
  }
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`prometheus ${path}: ${body.error ?? response.status}`);
    return body.data;
  };
  return {
    url,
    api,
    query: async (q) =>
      (
        await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
          `/api/v1/query?query=${encodeURIComponent(q)}`,
        )
      ).result,
    queryRange: async (q, seconds) => {
      const end = Date.now() / 1000;
      const params = `query=${encodeURIComponent(q)}&start=${end - seconds}&end=${end}&step=1`;
      return (
        await api<{ result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }>(`/api/v1/query_range?${params}`)
      ).result;
    },
    stop,
  };
}
