import { describe, expect, it } from "vitest";
import { FLOOR, renderOverhead, roundRatios, type ScenarioRun } from "../bench/graph-overhead.bench.js";

const scenario = (kit: number[], late: number[]): ScenarioRun => ({
  name: "10-node graph",
  variants: ["bare graph", FLOOR, "kit", "late"],
  spans: { "bare graph": 0, [FLOOR]: 0, kit: 11, late: 12 },
  samples: { "bare graph": [80, 80, 80], [FLOOR]: [100, 200, 100], kit: kit, late: late },
  measuredLast: ["late"],
});

describe("benchmark ratios", () => {
  it("pairs each round with the floor's sample of the same round; variants measured last use the floor's median", () => {
    const run = scenario([110, 220, 120], [150, 150, 300]);
    const ratios = roundRatios(new Map(Object.entries(run.samples)), FLOOR, new Set(run.measuredLast));
    expect(ratios.get("kit")).toEqual([1.1, 1.1, 1.2]);
    expect(ratios.get("late")).toEqual([1.5, 1.5, 3]);
    expect(ratios.get(FLOOR)).toEqual([1, 1, 1]);
  });

  it("pools the rounds of several processes and lists each process's own median", () => {
    const text = renderOverhead([[scenario([110, 220, 120], [150, 150, 150])], [scenario([105, 210, 105], [120, 120, 120])]], 3, 20);
    const row = text.split("\n").find((line) => line.startsWith("| kit |"));
    // Pooled ratios 1.1, 1.1, 1.2, 1.05, 1.05, 1.05: median 1.10, p25 1.05, p75 1.10; process medians 1.10 and 1.05.
    expect(row).toBe("| kit | 11 | 120 | 1.50 | 1.10 | 1.05–1.10 | 1.10 / 1.05 |");
    expect(text).toContain("2 processes × 3 rounds × 20 sequential invokes");
    expect(text.split("\n").find((line) => line.startsWith("| late |"))).toContain("| 1.50 / 1.20 |");
  });
});
