/**
 * Breakers nothing references are collected: 5,000 breakers created and dropped without `shutdown()` leave the heap
 * near its baseline after GC (in a child process with --expose-gc), while a live breaker's state gauge is still exported.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const FIXTURE = fileURLToPath(new URL("./fixtures/breaker-gc.ts", import.meta.url));

interface Report {
  baseline: number;
  filled: number;
  after: number;
  gauge: string[];
  droppedSeries: number;
  wrappedGauge: number;
  wrappedStillWorks: boolean;
  liveState: string;
}

describe("breaker lifetime", () => {
  it("5,000 dropped breakers are collected; the live one keeps its gauge", { timeout: 120_000 }, () => {
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", FIXTURE], {
      encoding: "utf8",
      env: { ...process.env, BREAKERS: "5000" },
      timeout: 110_000,
    });
    const report = JSON.parse(out.trim().split("\n").at(-1) as string) as Report;
    const grown = report.filled - report.baseline;
    const retained = report.after - report.baseline;
    console.log(`breakers: +${(grown / 1e6).toFixed(1)} MB while held, ${(retained / 1e6).toFixed(2)} MB retained after GC`);
    // Held, they are measurable (so the measure can see them); dropped, under a tenth of that stays (heap noise).
    expect(grown).toBeGreaterThan(2_000_000);
    expect(retained).toBeLessThan(grown / 10);
    expect(report.droppedSeries).toBe(0);
    expect(report.liveState).toBe("open");
    // Held only through the node it wraps: still exported (three states) and still working.
    expect(report.wrappedGauge).toBe(3);
    expect(report.wrappedStillWorks).toBe(true);
    expect(report.gauge).toEqual(
      expect.arrayContaining([
        'langgraph_circuit_breaker_state{breaker="live_breaker",state="open"} 1',
        'langgraph_circuit_breaker_state{breaker="live_breaker",state="closed"} 0',
        'langgraph_circuit_breaker_state{breaker="live_breaker",state="half_open"} 0',
      ]),
    );
  });
});
