import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { defaultConfig, resolveConfig } from "../mixin/rules/index.js";
import { dashboards } from "../mixin/dashboards/index.js";
import { generatedFiles } from "../mixin/index.js";
import { type LintExclusions, lintDashboard } from "./promql-lint-dashboard.js";

type Json = Record<string, unknown>;
const FILES = ["langgraph-overview.json", "langgraph-nodes.json", "langgraph-llm.json", "langgraph-checkpoints-slo.json"];
const shipped = Object.fromEntries(FILES.map((f) => [f, JSON.parse(readFileSync(`dashboards/${f}`, "utf8")) as Json]));
const exclusions = parse(readFileSync("dashboards/.lint", "utf8")) as LintExclusions;
const clone = <T>(v: T): T => structuredClone(v);
const panelsOf = (d: Json) => d.panels as Json[];

describe("generated files", () => {
  it("are in sync with the TypeScript sources (npm run check:generated)", () => {
    const stale = Object.entries(generatedFiles())
      .filter(([path, content]) => {
        try {
          return readFileSync(path, "utf8") !== content;
        } catch {
          return true;
        }
      })
      .map(([path]) => path);
    expect(stale, "run `npm run generate`").toEqual([]);
  });
});

describe("dashboards", () => {
  it("are the four dashboards with fixed, short, unique uids and the shared tag", () => {
    expect(Object.keys(dashboards(defaultConfig))).toEqual(FILES);
    const uids = FILES.map((f) => shipped[f]?.uid as string);
    expect(new Set(uids).size).toBe(4);
    for (const f of FILES) {
      const d = shipped[f] as Json;
      expect((d.uid as string).length).toBeLessThanOrEqual(40);
      expect(d.title).toMatch(/^LangGraph \/ /);
      expect(d.tags).toEqual(["langgraph-ops"]);
      expect(d.schemaVersion).toBe(39);
      expect(d.timezone).toBe("utc");
      expect(d.links).toEqual([
        expect.objectContaining({ type: "dashboards", tags: ["langgraph-ops"], asDropdown: true, includeVars: true, keepTime: true }),
      ]);
      const names = ((d.templating as Json).list as Json[]).map((v) => v.name);
      const extra: Record<string, string[]> = { "langgraph-nodes.json": ["node"], "langgraph-llm.json": ["model"] };
      expect(names).toEqual(["datasource", "job", "instance", "graph", ...(extra[f] ?? [])]);
    }
  });

  it.each(FILES)("%s passes the dashboard linter", (file) => {
    expect(lintDashboard(shipped[file] as Json, exclusions)).toEqual([]);
  });

  it("needs every lint exclusion it declares, each with a reason", () => {
    for (const [rule, { reason, entries }] of Object.entries(exclusions.exclusions ?? {})) {
      expect(reason.length, rule).toBeGreaterThan(20);
      for (const entry of entries) {
        const d = Object.values(shipped).find((x) => x.title === entry.dashboard);
        expect(d, entry.dashboard).toBeDefined();
        const without = lintDashboard(d as Json).filter((f) => f.rule === rule && f.panel === entry.panel);
        expect(without.length, `${rule} ${entry.dashboard} / ${entry.panel}`).toBeGreaterThan(0);
      }
    }
  });

  it("catches each breach of a deliberately broken dashboard", () => {
    const broken = clone(shipped["langgraph-nodes.json"] as Json);
    const panels = panelsOf(broken);
    const p = (i: number) => panels[i] as Json & { targets: Json[]; fieldConfig: { defaults: Json } };
    broken.editable = true;
    broken.uid = "x".repeat(41);
    broken.schemaVersion = 41;
    broken.__inputs = [{ name: "DS_PROMETHEUS" }];
    const vars = (broken.templating as Json).list as Json[];
    (vars[1] as Json).refresh = 1;
    (vars[2] as Json).allValue = "";
    (vars[3] as Json).query = { query: "label_values(langgraph_graph_runs_in_flight{, graph)", refId: "A" };
    p(0).description = "";
    p(1).fieldConfig.defaults.unit = "tokens-per-fortnight";
    p(2).targets[0] = { ...p(2).targets[0], expr: 'sum(rate(langgraph_node_retries_total{job=~"$job", instance=~"$instance"}[5m]))' };
    p(3).targets[0] = { ...p(3).targets[0], expr: 'sum(langgraph_node_retries_total{instance=~"$instance"})' };
    p(4).targets[0] = { ...p(4).targets[0], expr: "sum(rate(langgraph_node_timeouts_total{" };
    p(5).targets = [];
    p(6).type = "graph";
    p(7).id = p(8).id;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable syntax, not a JavaScript template
    p(8).datasource = { type: "prometheus", uid: "${DS_PROMETHEUS}" };
    const rules = new Set(lintDashboard(broken, exclusions).map((f) => f.rule));
    expect([...rules].sort()).toEqual(
      [
        "uneditable-dashboard",
        "dashboard-uid-rule",
        "dashboard-schema-version-rule",
        "dashboard-no-inputs-rule",
        "template-on-time-change-reload-rule",
        "template-instance-rule",
        "template-label-promql-rule",
        "panel-title-description-rule",
        "panel-units-rule",
        "target-rate-interval-rule",
        "target-job-rule",
        "target-counter-agg-rule",
        "target-promql-rule",
        "panel-no-targets-rule",
        "panel-type-rule",
        "panel-unique-id-rule",
        "panel-datasource-rule",
      ].sort(),
    );
  });

  it("flags a missing datasource variable and a missing instance matcher", () => {
    const broken = clone(shipped["langgraph-llm.json"] as Json);
    const vars = (broken.templating as Json).list as Json[];
    (broken.templating as Json).list = vars.filter((v) => v.type !== "datasource");
    const t = (panelsOf(broken)[0] as Json & { targets: Json[] }).targets[0] as Json;
    t.expr = 'sum(rate(gen_ai_client_token_usage_sum{job=~"$job"}[$__rate_interval]))';
    const rules = lintDashboard(broken, exclusions).map((f) => f.rule);
    expect(rules).toContain("template-datasource-rule");
    expect(rules).toContain("target-instance-rule");
  });

  it("link panels only to dashboards of the set, keeping time range and variables", () => {
    const uids = new Set(Object.values(shipped).map((d) => d.uid));
    const links = Object.values(shipped).flatMap((d) => panelsOf(d).flatMap((p) => (p.links as Array<{ url: string }> | undefined) ?? []));
    expect(links.length).toBeGreaterThanOrEqual(3);
    for (const { url } of links) {
      expect(uids.has(/^\/d\/([^?]+)\?/.exec(url)?.[1]), url).toBe(true);
      expect(url).toContain("__url_time_range");
      expect(url).toContain("__all_variables");
    }
  });

  it("put a unit and a description on every panel", () => {
    for (const d of Object.values(shipped)) {
      for (const panel of panelsOf(d)) {
        expect(panel.description, `${d.title} / ${panel.title}`).not.toBe("");
        expect((panel.fieldConfig as { defaults: { unit: string } }).defaults.unit, `${d.title} / ${panel.title}`).not.toBe("");
      }
    }
  });

  it("follow the SLO target and uid prefix of the config", () => {
    const custom = dashboards(resolveConfig({ sloTarget: 0.99, uidPrefix: "acme" }));
    const slo = custom["langgraph-checkpoints-slo.json"];
    expect(slo?.uid).toBe("acme-checkpoints-slo");
    expect(JSON.stringify(slo)).toContain("/ 0.01");
  });

  it("ship as labelled ConfigMaps for the Grafana sidecar", () => {
    const docs = parseAllDocuments(readFileSync("dashboards/kubernetes/configmaps.yaml", "utf8")).map((d) => d.toJS() as Json);
    expect(docs).toHaveLength(4);
    for (const doc of docs) {
      const meta = doc.metadata as { labels: Record<string, string>; name: string };
      expect(doc.kind).toBe("ConfigMap");
      expect(meta.labels.grafana_dashboard).toBe("1");
      const [file, body] = Object.entries(doc.data as Record<string, string>)[0] ?? [];
      expect(JSON.parse(body ?? "")).toEqual(shipped[file ?? ""]);
    }
  });
});
