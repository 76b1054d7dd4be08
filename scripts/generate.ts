/**
 * Writes every generated file (rule files, runbook, promtool tests, dashboards, Kubernetes manifests) from the
 * TypeScript sources.
 *
 *   npm run generate                                   the shipped files, in place
 *   npm run check:generated                            exit 1 listing files that differ from the generator's output
 *   npm run generate -- --config mixin.json --out dir  a customised set (SLO target, thresholds, for:, selector…)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type MixinConfigInput, resolveConfig } from "../alerts/src/config.js";
import { generatedFiles } from "./generated-files.js";

const { values } = parseArgs({ options: { check: { type: "boolean" }, config: { type: "string" }, out: { type: "string" } } });
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = values.out === undefined ? root : resolve(values.out);
const input = values.config === undefined ? {} : (JSON.parse(readFileSync(values.config, "utf8")) as MixinConfigInput);
const stale: string[] = [];
for (const [path, content] of Object.entries(generatedFiles(resolveConfig(input)))) {
  const target = resolve(outDir, path);
  const current = existsSync(target) ? readFileSync(target, "utf8") : undefined;
  if (current === content) continue;
  if (values.check === true) {
    stale.push(path);
    continue;
  }
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
  console.log(`wrote ${target}`);
}
if (stale.length > 0) {
  console.error(`generated files are out of date (run \`npm run generate\`):\n  ${stale.join("\n  ")}`);
  process.exit(1);
}
