/**
 * The rules of grafana/dashboard-linter (strict: every finding fails), re-implemented over the dashboard JSON, plus
 * the mixin extras: title, uid length, unique ids, pinned schemaVersion, allowed panel types, no `__inputs`.
 * Exclusions follow the linter's `.lint` file: rule → reason + entries of dashboard title and panel title.
 */
import { analyse, substituteVariables } from "./promql-lint.js";

/** A rule breach. */
export interface Finding {
  rule: string;
  dashboard: string;
  panel?: string;
  message: string;
}

/** `.lint` exclusions: per rule, a reason and the dashboard/panel pairs it does not apply to. */
export interface LintExclusions {
  exclusions?: Record<string, { reason: string; entries: Array<{ dashboard: string; panel?: string }> }>;
}

/** Grafana unit ids the dashboards may use (a subset of Grafana's `valueFormats` registry). */
export const VALID_UNITS = new Set([
  "none",
  "short",
  "percent",
  "percentunit",
  "humidity",
  "dB",
  "hex0x",
  "hex",
  "sci",
  "locale",
  "ns",
  "µs",
  "ms",
  "s",
  "m",
  "h",
  "d",
  "dtdurationms",
  "dtdurations",
  "dthms",
  "dtdhms",
  "timeticks",
  "clockms",
  "clocks",
  "bits",
  "bytes",
  "kbytes",
  "mbytes",
  "gbytes",
  "tbytes",
  "pbytes",
  "decbits",
  "decbytes",
  "deckbytes",
  "decmbytes",
  "decgbytes",
  "pps",
  "bps",
  "Bps",
  "binbps",
  "binBps",
  "Kbits",
  "KBs",
  "ops",
  "reqps",
  "rps",
  "wps",
  "iops",
  "cps",
  "opm",
  "rpm",
  "wpm",
  "reqpm",
  "cpm",
  "currencyUSD",
  "currencyEUR",
  "currencyGBP",
  "hertz",
  "dateTimeAsIso",
  "dateTimeFromNow",
]);

/** Panel types that render the same on Grafana 10.4 through 12. */
export const ALLOWED_PANEL_TYPES = new Set(["timeseries", "stat", "table", "bargauge", "state-timeline"]);

/** The schemaVersion the generator pins. */
export const PINNED_SCHEMA_VERSION = 39;

type Json = Record<string, unknown>;

const asArray = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const DS_REF = /^\$\{?datasource\}?$/;

function variableQuery(v: Json): string {
  const q = v.query;
  if (typeof q === "string") return q;
  if (typeof q === "object" && q !== null) return str((q as Json).query);
  return "";
}

/** Lints one dashboard; returns every finding not excluded. */
export function lintDashboard(dash: Json, config: LintExclusions = {}): Finding[] {
  const title = str(dash.title);
  const findings: Finding[] = [];
  const add = (rule: string, message: string, panel?: string) => {
    const exclusion = config.exclusions?.[rule];
    const excluded = exclusion?.entries.some((e) => e.dashboard === title && (e.panel === undefined || e.panel === panel));
    if (excluded !== true)
      findings.push(panel === undefined ? { rule, dashboard: title, message } : { rule, dashboard: title, panel, message });
  };

  // mixin extras
  if (title === "") add("dashboard-title-rule", "dashboard has no title");
  const uid = str(dash.uid);
  if (uid === "") add("dashboard-uid-rule", "dashboard has no fixed uid");
  if (uid.length > 40) add("dashboard-uid-rule", `uid too long (${uid.length} > 40)`);
  if (dash.schemaVersion !== PINNED_SCHEMA_VERSION)
    add("dashboard-schema-version-rule", `schemaVersion ${String(dash.schemaVersion)} is not ${PINNED_SCHEMA_VERSION}`);
  if ("__inputs" in dash || JSON.stringify(dash).includes("${DS_"))
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable syntax, not a JavaScript template
    add("dashboard-no-inputs-rule", "uses __inputs / ${DS_*} (breaks file provisioning)");
  if (dash.editable !== false) add("uneditable-dashboard", "dashboard is editable");

  // templates
  const vars = asArray((dash.templating as Json | undefined)?.list);
  const dsVars = vars.filter((v) => v.type === "datasource");
  if (dsVars.length !== 1 || dsVars[0]?.name !== "datasource")
    add("template-datasource-rule", "needs exactly one datasource variable named `datasource`");
  else {
    if (dsVars[0]?.query !== "prometheus") add("template-datasource-rule", "datasource variable must be of type prometheus");
    if (dsVars[0]?.label !== "Data source") add("template-datasource-rule", 'datasource variable label must be "Data source"');
  }
  for (const [name, label] of [
    ["job", "Job"],
    ["instance", "Instance"],
  ] as const) {
    const rule = `template-${name}-rule`;
    const v = vars.find((x) => x.name === name);
    if (v === undefined) {
      add(rule, `missing \`${name}\` variable`);
      continue;
    }
    if (!DS_REF.test(str((v.datasource as Json | undefined)?.uid))) add(rule, `\`${name}\` variable must use the datasource variable`);
    if (v.type !== "query") add(rule, `\`${name}\` variable must be a query variable`);
    if (v.label !== label) add(rule, `\`${name}\` variable label must be "${label}"`);
    if (v.multi !== true) add(rule, `\`${name}\` variable must be multi-value`);
    if (v.allValue !== ".+") add(rule, `\`${name}\` variable allValue must be ".+"`);
  }
  if (!vars.some((v) => v.name === "graph")) add("template-graph-rule", "missing `graph` variable");
  for (const v of vars.filter((x) => x.type === "query")) {
    if (v.refresh !== 2)
      add("template-on-time-change-reload-rule", `variable \`${str(v.name)}\` must refresh on time range change (refresh: 2)`);
    const query = variableQuery(v);
    const match = /^label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)$/.exec(query);
    if (match === null) {
      add("template-label-promql-rule", `variable \`${str(v.name)}\`: not a label_values(selector, label) query: ${query}`);
      continue;
    }
    const parsed = analyse(substituteVariables(match[1] ?? ""));
    if (parsed.errors.length > 0) add("template-label-promql-rule", `variable \`${str(v.name)}\`: ${parsed.errors.join("; ")}`);
  }

  // panels and targets
  const panels = asArray(dash.panels);
  const ids = new Set<unknown>();
  for (const panel of panels) {
    const pt = str(panel.title);
    if (ids.has(panel.id)) add("panel-unique-id-rule", `duplicate panel id ${String(panel.id)}`, pt);
    ids.add(panel.id);
    if (!ALLOWED_PANEL_TYPES.has(str(panel.type))) add("panel-type-rule", `panel type ${str(panel.type)} is not allowed`, pt);
    if (pt === "" || str(panel.description) === "") add("panel-title-description-rule", "panel needs a title and a description", pt);
    if (!DS_REF.test(str((panel.datasource as Json | undefined)?.uid)))
      add("panel-datasource-rule", "panel must use the datasource variable", pt);
    const defaults = ((panel.fieldConfig as Json | undefined)?.defaults ?? {}) as Json;
    const unit = str(defaults.unit);
    const hasMappings = asArray(defaults.mappings).length > 0;
    if (unit === "" || (!hasMappings && !VALID_UNITS.has(unit))) add("panel-units-rule", `invalid or missing unit "${unit}"`, pt);
    const targets = asArray(panel.targets);
    if (targets.length === 0) add("panel-no-targets-rule", "panel has no targets", pt);
    const refIds = new Set<string>();
    for (const target of targets) {
      const refId = str(target.refId);
      if (refId === "" || refIds.has(refId)) add("target-refid-rule", `missing or duplicate refId "${refId}"`, pt);
      refIds.add(refId);
      if (!DS_REF.test(str((target.datasource as Json | undefined)?.uid)))
        add("panel-datasource-rule", `target ${refId} must use the datasource variable`, pt);
      lintTarget(str(target.expr), (rule, message) => add(rule, `${refId}: ${message}`, pt));
    }
  }
  return findings;
}

function lintTarget(expr: string, add: (rule: string, message: string) => void): void {
  const { errors, selectors } = analyse(substituteVariables(expr));
  if (errors.length > 0) {
    add("target-promql-rule", `${errors.join("; ")} in ${expr}`);
    return;
  }
  if (selectors.length === 0) add("target-promql-rule", `no metric selector in ${expr}`);
  for (const s of selectors) {
    const name = s.metric ?? "(no name)";
    const fn = s.functions[0];
    if ((fn === "rate" || fn === "irate") && s.range !== "4321ms")
      add("target-rate-interval-rule", `${fn}(${name}) must use [$__rate_interval], not [${s.range ?? ""}]`);
    if (!s.matchers.some((m) => m.name === "job" && m.op === "=~" && m.value === "$job"))
      add("target-job-rule", `${name} lacks job=~"$job"`);
    if (!s.matchers.some((m) => m.name === "instance" && m.op === "=~" && m.value === "$instance"))
      add("target-instance-rule", `${name} lacks instance=~"$instance"`);
    if (name.endsWith("_total") && !(fn === "rate" || fn === "irate" || fn === "increase"))
      add("target-counter-agg-rule", `counter ${name} must be inside rate, irate or increase`);
  }
}
