/**
 * Plain-object builders for the subset of the Grafana dashboard model the dashboards use (schemaVersion 39, which
 * Grafana 10.4 through 12 load and migrate). Only `timeseries`, `stat`, `table`, `bargauge` and `state-timeline`
 * panels, so nothing depends on a plugin or a panel type that changed between those versions.
 */
import { metric } from "../catalogue.js";

/** Datasource reference resolved through the `datasource` variable (works for UI import, API and provisioning). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable syntax, not a JavaScript template
export const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

/** The schema version written; see the README for the Grafana versions it covers. */
export const SCHEMA_VERSION = 39;

/** Panel types the dashboards may use. */
export type PanelType = "timeseries" | "stat" | "table" | "bargauge" | "state-timeline";

/** A PromQL query of a panel. */
export interface Target {
  datasource: typeof DATASOURCE;
  expr: string;
  legendFormat: string;
  refId: string;
  range: boolean;
  instant: boolean;
  format?: "table" | "time_series";
}

/** A value mapping (used by the breaker state timeline). */
export interface ValueMapping {
  type: "value";
  options: Record<string, { text: string; color: string; index: number }>;
}

/** A threshold step. */
export interface ThresholdStep {
  color: string;
  value: number | null;
}

/** A panel. */
export interface Panel {
  id: number;
  type: PanelType;
  title: string;
  description: string;
  datasource: typeof DATASOURCE;
  gridPos: { h: number; w: number; x: number; y: number };
  fieldConfig: {
    defaults: {
      unit: string;
      min?: number;
      max?: number;
      decimals?: number;
      mappings: ValueMapping[];
      thresholds: { mode: "absolute"; steps: ThresholdStep[] };
      color: { mode: string };
      custom?: Record<string, unknown>;
    };
    overrides: unknown[];
  };
  options: Record<string, unknown>;
  targets: Target[];
  links?: Array<{ title: string; url: string }>;
}

/** A template variable. */
export interface Variable {
  name: string;
  label: string;
  type: "datasource" | "query";
  query: string | { query: string; refId: string };
  current: Record<string, unknown>;
  hide: 0;
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
  refresh?: 1 | 2;
  regex?: string;
  sort?: number;
  datasource?: typeof DATASOURCE;
  definition?: string;
  options: unknown[];
  skipUrlSync: false;
}

/** A dashboard as written to JSON. */
export interface Dashboard {
  annotations: { list: unknown[] };
  description: string;
  editable: false;
  fiscalYearStartMonth: 0;
  graphTooltip: 1;
  id: null;
  links: unknown[];
  panels: Panel[];
  refresh: string;
  schemaVersion: number;
  tags: string[];
  templating: { list: Variable[] };
  time: { from: string; to: string };
  timepicker: Record<string, never>;
  timezone: "utc";
  title: string;
  uid: string;
  version: 1;
  weekStart: "";
}

/** What a panel definition states; ids, refIds, layout and defaults are filled in by {@link layout}. */
export interface PanelSpec {
  /**
   * The panel's id, fixed for its life (`viewPanel` links and Grafana's panel state refer to it): a new panel takes
   * the next free id of its dashboard wherever it sits; ids of removed panels are not reused.
   */
  id: number;
  type: PanelType;
  title: string;
  description: string;
  unit: string;
  targets: Array<{ expr: string; legend?: string; instant?: boolean; format?: "table" }>;
  /** Grid width (of 24); height comes from the row. */
  width?: number;
  min?: number;
  max?: number;
  decimals?: number;
  thresholds?: ThresholdStep[];
  mappings?: ValueMapping[];
  options?: Record<string, unknown>;
  custom?: Record<string, unknown>;
  /** Drill-down to another dashboard of the set, by uid, keeping time range and variables. */
  drilldown?: { title: string; uid: string };
}

/** Grafana's placeholders for the current time range and variable values in a link URL. */
const KEEP_CONTEXT = "$" + "{__url_time_range}&$" + "{__all_variables}";

const DEFAULT_THRESHOLDS: ThresholdStep[] = [{ color: "green", value: null }];

function panelOptions(spec: PanelSpec): Record<string, unknown> {
  const legend = { displayMode: "table", placement: "bottom", showLegend: true, calcs: ["mean", "max", "lastNotNull"] };
  const reduce = { calcs: ["lastNotNull"], fields: "", values: false };
  switch (spec.type) {
    case "timeseries":
      return { legend, tooltip: { mode: "multi", sort: "desc" }, ...spec.options };
    case "stat":
      return {
        reduceOptions: reduce,
        colorMode: "value",
        graphMode: "area",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        ...spec.options,
      };
    case "bargauge":
      return { reduceOptions: reduce, displayMode: "gradient", orientation: "horizontal", showUnfilled: true, ...spec.options };
    case "state-timeline":
      return {
        mergeValues: true,
        showValue: "never",
        alignValue: "left",
        rowHeight: 0.9,
        legend: { displayMode: "list", placement: "bottom", showLegend: true },
        ...spec.options,
      };
    case "table":
      return { showHeader: true, cellHeight: "sm", footer: { show: false, reducer: ["sum"], fields: "" }, ...spec.options };
  }
}

function panel(spec: PanelSpec, id: number, gridPos: Panel["gridPos"]): Panel {
  const defaults: Panel["fieldConfig"]["defaults"] = {
    unit: spec.unit,
    mappings: spec.mappings ?? [],
    thresholds: { mode: "absolute", steps: spec.thresholds ?? DEFAULT_THRESHOLDS },
    color: { mode: spec.type === "timeseries" || spec.type === "table" ? "palette-classic" : "thresholds" },
  };
  if (spec.min !== undefined) defaults.min = spec.min;
  if (spec.max !== undefined) defaults.max = spec.max;
  if (spec.decimals !== undefined) defaults.decimals = spec.decimals;
  if (spec.type === "timeseries")
    defaults.custom = { drawStyle: "line", lineWidth: 1, fillOpacity: 10, showPoints: "never", spanNulls: false, ...spec.custom };
  else if (spec.custom !== undefined) defaults.custom = spec.custom;
  const built: Panel = {
    id,
    type: spec.type,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults, overrides: [] },
    options: panelOptions(spec),
    targets: spec.targets.map((t, i) => {
      const target: Target = {
        datasource: DATASOURCE,
        expr: t.expr,
        legendFormat: t.legend ?? "__auto",
        refId: String.fromCharCode(65 + i),
        range: t.instant !== true,
        instant: t.instant === true,
      };
      if (t.format !== undefined) target.format = t.format;
      return target;
    }),
  };
  if (spec.drilldown !== undefined) built.links = [{ title: spec.drilldown.title, url: `/d/${spec.drilldown.uid}?${KEEP_CONTEXT}` }];
  return built;
}

/** Lays rows of panel specs out on the 24-column grid; stat rows are short. A TypeError on a duplicate panel id. */
export function layout(rows: PanelSpec[][]): Panel[] {
  const ids = new Set<number>();
  for (const spec of rows.flat()) {
    if (!Number.isInteger(spec.id) || spec.id < 1 || ids.has(spec.id)) {
      const next = Math.max(0, ...rows.flat().map((p) => p.id)) + 1;
      throw new TypeError(`panel "${spec.title}" needs an id of its own (a positive integer; next free: ${next}), got ${spec.id}`);
    }
    ids.add(spec.id);
  }
  const panels: Panel[] = [];
  let y = 0;
  for (const row of rows) {
    const h = row.every((p) => p.type === "stat") ? 4 : 8;
    const share = Math.floor(24 / row.length);
    let x = 0;
    for (const spec of row) {
      const w = spec.width ?? share;
      panels.push(panel(spec, spec.id, { h, w, x, y }));
      x += w;
    }
    y += h;
  }
  return panels;
}

/** A multi-value query variable with an "All" option matching `.+`, refreshed on time range change. */
export function queryVariable(name: string, label: string, query: string, includeAll: boolean): Variable {
  return {
    name,
    label,
    type: "query",
    datasource: DATASOURCE,
    definition: query,
    query: { query, refId: "PrometheusVariableQueryEditor-VariableQuery" },
    current: includeAll ? { selected: true, text: ["All"], value: ["$__all"] } : {},
    hide: 0,
    includeAll,
    multi: true,
    allValue: ".+",
    refresh: 2,
    regex: "",
    sort: 1,
    options: [],
    skipUrlSync: false,
  };
}

/**
 * The variables every dashboard has: `datasource`, then `job`, `instance` and `graph` read from the in-flight gauge,
 * which exists for every instrumented graph from `instrument()` on (before the first run finishes).
 */
export function standardVariables(extraSelector: string): Variable[] {
  const sel = (m: string) => `{${[m, extraSelector].filter((x) => x !== "").join(", ")}}`;
  const gauge = metric("graphsInFlight");
  return [
    {
      name: "datasource",
      label: "Data source",
      type: "datasource",
      query: "prometheus",
      current: {},
      hide: 0,
      includeAll: false,
      multi: false,
      refresh: 1,
      regex: "",
      options: [],
      skipUrlSync: false,
    },
    queryVariable("job", "Job", `label_values(${gauge}${extraSelector === "" ? "" : `{${extraSelector}}`}, job)`, true),
    queryVariable("instance", "Instance", `label_values(${gauge}${sel('job=~"$job"')}, instance)`, true),
    queryVariable("graph", "Graph", `label_values(${gauge}${sel('job=~"$job", instance=~"$instance"')}, graph)`, true),
  ];
}

/** Everything that differs between the dashboards. */
export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tag: string;
  panels: Panel[];
  variables: Variable[];
}

/** A complete dashboard: UTC, 30s refresh, shared crosshair, not editable, a dropdown of links to its siblings. */
export function dashboard(spec: DashboardSpec): Dashboard {
  return {
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: "grafana", uid: "-- Grafana --" },
          enable: true,
          hide: true,
          iconColor: "rgba(0, 211, 255, 1)",
          name: "Annotations & Alerts",
          type: "dashboard",
        },
      ],
    },
    description: spec.description,
    editable: false,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: [
      {
        asDropdown: true,
        icon: "external link",
        includeVars: true,
        keepTime: true,
        tags: [spec.tag],
        targetBlank: false,
        title: "LangGraph dashboards",
        type: "dashboards",
      },
    ],
    panels: spec.panels,
    refresh: "30s",
    schemaVersion: SCHEMA_VERSION,
    tags: [spec.tag],
    templating: { list: spec.variables },
    time: { from: "now-6h", to: "now" },
    timepicker: {},
    timezone: "utc",
    title: spec.title,
    uid: spec.uid,
    version: 1,
    weekStart: "",
  };
}
