/**
 * Fault soak: 5,000 graph runs through `instrument(graph, { metrics, tracing: true, logger })` with resilient nodes,
 * injected transient errors, hangs, a dependency outage behind a shared breaker, interrupts (resumed or left) and
 * aborts, from 16 concurrent callers, in a child process started with `--expose-gc`. The child prints what its callers
 * saw and what the kit recorded as one JSON line, then must exit on its own: a timer or handle left open would keep it
 * alive.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkloadReport } from "../bench/memory.bench.js";

const RUNS = 5000;
/** After the JSON line, how long the child gets to exit by itself before it counts as held open. */
const EXIT_GRACE_MS = 20_000;

interface ChildResult {
  report: WorkloadReport;
  heap: { runs: number; heapUsed: number }[];
  resources: string[];
}

let child: ChildProcess | undefined;
let result: ChildResult;
let exitedOnItsOwn = false;
let exitCode: number | null = null;
let stderr = "";

beforeAll(async () => {
  const proc = spawn(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "bench/memory.bench.ts", "--json", "--runs", String(RUNS), "--concurrency", "16"],
    { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] },
  );
  child = proc;
  let stdout = "";
  proc.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  proc.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let guard: NodeJS.Timeout | undefined;
  const printed = new Promise<void>((resolve) => {
    proc.stdout?.on("data", () => {
      if (stdout.includes("\n") && guard === undefined) {
        guard = setTimeout(() => proc.kill("SIGKILL"), EXIT_GRACE_MS);
        resolve();
      }
    });
  });
  const exited = new Promise<void>((resolve) => {
    proc.on("exit", (code, signal) => {
      exitCode = code;
      exitedOnItsOwn = signal === null;
      if (guard !== undefined) clearTimeout(guard);
      resolve();
    });
  });
  await Promise.race([printed, exited]);
  await exited;
  const line = stdout.split("\n").find((l) => l.startsWith("{"));
  if (line === undefined) throw new Error(`the soak child printed no report (exit ${String(exitCode)}):\n${stderr.slice(-4000)}`);
  result = JSON.parse(line) as ChildResult;
}, 600_000);

afterAll(() => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

describe(`fault soak: ${RUNS} runs`, () => {
  it("accounts for every run: success + error + interrupted + cancelled = started, each as planned", () => {
    const { report } = result;
    const o = report.outcomes;
    expect(report.started).toBe(RUNS);
    expect(o.success + o.error + o.interrupted + o.cancelled).toBe(report.started);
    // Every kind of ending happened, so the soak exercised every path.
    for (const status of ["success", "error", "interrupted", "cancelled"] as const) expect(o[status]).toBeGreaterThan(0);
    expect(report.unexpected).toEqual([]);
  });

  it("the Prometheus counters equal the callers' ground truth, and nothing is left in flight", () => {
    const { report } = result;
    expect(report.runsTotal.success ?? 0).toBe(report.outcomes.success);
    expect(report.runsTotal.error ?? 0).toBe(report.outcomes.error);
    expect(report.runsTotal.interrupted ?? 0).toBe(report.outcomes.interrupted);
    expect(report.runsTotal.cancelled ?? 0).toBe(report.outcomes.cancelled);
    expect(report.inFlight).toBe(0);
    expect(report.timeouts).toBe(report.expectedTimeouts);
    expect(report.retriesExhausted).toBe(report.expectedExhausted);
    expect(report.interrupts).toBe(report.expectedInterrupts);
    expect(report.breakerRejections).toBe(report.observedRejections);
    // The outage windows opened the breaker, and it recovered through half-open.
    expect(report.breakerTransitions.open ?? 0).toBeGreaterThan(0);
    expect(report.breakerTransitions.half_open ?? 0).toBeGreaterThan(0);
    expect(report.breakerTransitions.closed ?? 0).toBeGreaterThan(0);
  });

  it("every span ended, one root span per run, and the tracing registry is empty", () => {
    const { report } = result;
    expect(report.spansEnded).toBe(report.spansStarted);
    expect(report.rootSpans).toBe(report.started);
    expect(report.spansExported).toBe(report.spansEnded);
    expect(report.openTracingRuns).toBe(0);
  });

  it("heap stays flat between 1,000 and 5,000 runs (after GC, nothing in flight)", () => {
    const at1000 = result.heap.find((h) => h.runs === 1000)?.heapUsed;
    const last = result.heap.at(-1)?.heapUsed;
    expect(at1000).toBeDefined();
    expect(last).toBeDefined();
    // 4,000 more runs; a leak of even 1 KB per run would add about 4 MB.
    expect((last as number) - (at1000 as number)).toBeLessThan(2 * 2 ** 20);
  });

  it("exits on its own, with no timer or handle left open", () => {
    expect(stderr).not.toMatch(/Error/);
    expect(exitedOnItsOwn).toBe(true);
    expect(exitCode).toBe(0);
    // Only the stdio pipes to this test remain when the report is printed.
    expect(result.resources.filter((r) => r !== "PipeWrap" && r !== "TTYWrap")).toEqual([]);
  });
});
