/**
 * Writes every generated file (rule files, runbook, promtool tests, dashboards, Kubernetes manifests and their copies
 * in examples/kubernetes, the README's series table) from the mixin sources and the series catalogue.
 *
 *   npm run generate                                   the shipped files, in place
 *   npm run check:generated                            exit 1 listing files that differ from the generator's output
 *   npm run generate -- --config mixin.json --out dir  a customised set (what `npx langgraph-ops mixin` does)
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadMixinConfig, staleFiles, writeFiles } from "../src/cli/mixin.js";
import { generatedFiles, repositoryFiles } from "../mixin/index.js";

const { values } = parseArgs({ options: { check: { type: "boolean" }, config: { type: "string" }, out: { type: "string" } } });
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = values.out === undefined ? root : resolve(values.out);
const config = loadMixinConfig(values.config);
// In place, the repository's copies are written too; a customised set under --out is what `npx langgraph-ops mixin` writes.
const files = values.out === undefined ? repositoryFiles(readFileSync(resolve(root, "README.md"), "utf8"), config) : generatedFiles(config);
if (values.check === true) {
  const stale = staleFiles(files, outDir);
  if (stale.length > 0) {
    console.error(`generated files are out of date (run \`npm run generate\`):\n  ${stale.join("\n  ")}`);
    process.exit(1);
  }
} else {
  for (const path of writeFiles(files, outDir)) console.log(`wrote ${resolve(outDir, path)}`);
}
