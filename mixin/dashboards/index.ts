/** Entry point of the dashboard generator: the four dashboards and their ConfigMaps from one config. */
import type { MixinConfig } from "../config.js";
import { GENERATED_HEADER, toYaml } from "../render.js";
import type { Dashboard } from "./grafana.js";
import { dashboardConfigMaps } from "./kubernetes.js";
import { llmDashboard } from "./llm.js";
import { nodesDashboard } from "./nodes.js";
import { overviewDashboard } from "./overview.js";
import { sloDashboard } from "./slo.js";

/** The dashboards keyed by file name. */
export function dashboards(config: MixinConfig): Record<string, Dashboard> {
  return {
    "langgraph-overview.json": overviewDashboard(config),
    "langgraph-nodes.json": nodesDashboard(config),
    "langgraph-llm.json": llmDashboard(config),
    "langgraph-checkpoints-slo.json": sloDashboard(config),
  };
}

/** Generated files under dashboards/, keyed by path relative to the repository root. */
export function dashboardFiles(config: MixinConfig): Record<string, string> {
  const all = dashboards(config);
  const files: Record<string, string> = {};
  for (const [name, body] of Object.entries(all)) files[`dashboards/${name}`] = `${JSON.stringify(body, null, 2)}\n`;
  files["dashboards/kubernetes/configmaps.yaml"] = dashboardConfigMaps(all)
    .map((doc) => GENERATED_HEADER + toYaml(doc))
    .join("---\n");
  return files;
}

export { dashboardConfigMaps, type ConfigMapOptions } from "./kubernetes.js";
export { DATASOURCE, SCHEMA_VERSION, type Dashboard, type Panel, type PanelType, type Target, type Variable } from "./grafana.js";
