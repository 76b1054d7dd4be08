/**
 * The mixin: every dashboard, rule file, runbook, promtool test and Kubernetes manifest from one config. Its output
 * stays where users find it (dashboards/, alerts/, examples/kubernetes/); `npm run generate` writes it.
 */
import { type MixinConfig, resolveConfig } from "./config.js";
import { dashboardFiles } from "./dashboards/index.js";
import { alertFiles } from "./rules/index.js";
import { withSeriesTable } from "./readme.js";
import { alertTestFiles } from "./tests/index.js";

/** Copies of generated files elsewhere in the repository (the Kubernetes example applies them with kustomize). */
const COPIES: Readonly<Record<string, string>> = {
  "examples/kubernetes/prometheusrule.yaml": "alerts/kubernetes/prometheusrule.yaml",
  "examples/kubernetes/grafana-dashboards.yaml": "dashboards/kubernetes/configmaps.yaml",
};

/** Every generated file for `config` (default: the shipped configuration), keyed by path relative to the output root. */
export function generatedFiles(config: MixinConfig = resolveConfig()): Record<string, string> {
  return { ...alertFiles(config), ...alertTestFiles(config), ...dashboardFiles(config) };
}

/**
 * {@link generatedFiles} plus the copies the repository keeps elsewhere and the README (`readme`, its current text)
 * with its series table rewritten from the catalogue: what `npm run generate` writes.
 */
export function repositoryFiles(readme: string, config: MixinConfig = resolveConfig()): Record<string, string> {
  const files = generatedFiles(config);
  files["README.md"] = withSeriesTable(readme);
  for (const [copy, source] of Object.entries(COPIES)) files[copy] = files[source] as string;
  return files;
}
