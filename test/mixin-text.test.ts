import { describe, expect, it } from "vitest";
import { resolveConfig } from "../mixin/config.js";
import { dashboards } from "../mixin/dashboards/index.js";
import { generatedFiles } from "../mixin/index.js";
import { num, percent } from "../mixin/promql.js";

/** A decimal with a run of 0s or 9s before its last digit: what binary floating point leaves in `0.07 * 100`. */
const FLOAT_NOISE = /\d\.\d*(?:0{6,}|9{6,})\d/;

describe("generated text", () => {
  it("prints ratios and percentages without float noise", () => {
    expect(0.07 * 100).not.toBe(7); // the noise this guards against
    expect(percent(0.07)).toBe("7%");
    expect(num(1 - 0.995)).toBe("0.005");
    const configs = [
      resolveConfig(),
      resolveConfig({
        sloTarget: 0.993,
        thresholds: { runErrorRatio: 0.07, llmErrorRatio: 0.07, nodeErrorRatio: 0.07, traceExportFailureRatio: 0.07 },
      }),
      resolveConfig({ sloTarget: 0.9999 }),
    ];
    for (const config of configs) {
      const noisy = Object.entries(generatedFiles(config)).flatMap(([path, text]) =>
        text.split("\n").flatMap((line, i) => (FLOAT_NOISE.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])),
      );
      expect(noisy).toEqual([]);
    }
  });

  it("puts the configured selector in every panel query on a raw series, and not on recorded ones", () => {
    const config = resolveConfig({ selector: 'cluster="eu"' });
    const raw: string[] = [];
    for (const d of Object.values(dashboards(config))) {
      for (const p of d.panels) {
        for (const t of p.targets) {
          for (const m of t.expr.matchAll(/(?<![\w:])((?:langgraph|gen_ai)_[a-z_]+)\{([^}]*)\}/g)) {
            raw.push(m[1] as string);
            expect(m[2], `${d.title} / ${p.title}: ${m[1]}`).toContain('cluster="eu"');
          }
          for (const m of t.expr.matchAll(/\b\w+:\w+:\w+\{([^}]*)\}/g)) expect(m[1]).not.toContain("cluster=");
        }
      }
    }
    expect(raw.length).toBeGreaterThan(40);
  });
});
