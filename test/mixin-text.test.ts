import { describe, expect, it } from "vitest";
import { resolveConfig } from "../mixin/config.js";
import { dashboards } from "../mixin/dashboards/index.js";
import { layout, type PanelSpec } from "../mixin/dashboards/grafana.js";
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
    for (const d of Object.values(dashboards(config))) {
      for (const v of d.templating.list) {
        const q = typeof v.query === "string" ? v.query : v.query.query;
        if (q.startsWith("label_values(")) expect(q, `${d.title} / $${v.name}`).toContain('cluster="eu"');
      }
    }
  });

  it("keeps a panel's id where it moves, and refuses a duplicate id", () => {
    const spec = (id: number, title: string): PanelSpec => ({ id, type: "stat", title, description: "", unit: "none", targets: [] });
    const before = layout([[spec(1, "a"), spec(2, "b")], [spec(3, "c")]]);
    const after = layout([
      [spec(4, "new"), spec(1, "a")],
      [spec(2, "b"), spec(3, "c")],
    ]);
    const idOf = (panels: typeof before, title: string) => panels.find((p) => p.title === title)?.id;
    for (const title of ["a", "b", "c"]) expect(idOf(after, title)).toBe(idOf(before, title));
    expect(() => layout([[spec(1, "a"), spec(1, "b")]])).toThrow(
      new TypeError('panel "b" needs an id of its own (a positive integer; next free: 2), got 1'),
    );
    const shipped = Object.values(dashboards(resolveConfig()));
    for (const d of shipped) expect(new Set(d.panels.map((p) => p.id)).size, d.title).toBe(d.panels.length);
  });
});
