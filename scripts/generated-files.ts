/** The full set of generated files with their contents, keyed by path relative to the repository root. */
import { alertFiles, resolveConfig } from "../alerts/src/index.js";
import { alertTestFiles } from "../alerts/src/tests/index.js";
import { dashboardFiles } from "../dashboards/src/index.js";

/** Every generated file for the shipped (default) configuration. */
export function generatedFiles(): Record<string, string> {
  const config = resolveConfig();
  return { ...alertFiles(config), ...alertTestFiles(config), ...dashboardFiles(config) };
}
