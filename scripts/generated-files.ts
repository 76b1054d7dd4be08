/** The full set of generated files with their contents, keyed by path relative to the repository root. */
import { alertFiles, type MixinConfig, resolveConfig } from "../alerts/src/index.js";
import { alertTestFiles } from "../alerts/src/tests/index.js";
import { dashboardFiles } from "../dashboards/src/index.js";

/** Every generated file for `config` (default: the shipped configuration). */
export function generatedFiles(config: MixinConfig = resolveConfig()): Record<string, string> {
  return { ...alertFiles(config), ...alertTestFiles(config), ...dashboardFiles(config) };
}
