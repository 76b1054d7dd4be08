/**
 * Writes every generated file (rule files, runbook, promtool tests, dashboards, Kubernetes manifests) from the
 * TypeScript sources. With `--check` it writes nothing and exits 1 listing the files that differ from what the
 * generator produces, so CI catches hand edits and forgotten regenerations.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generatedFiles } from "./generated-files.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");
const stale: string[] = [];
for (const [path, content] of Object.entries(generatedFiles())) {
  const target = resolve(root, path);
  const current = existsSync(target) ? readFileSync(target, "utf8") : undefined;
  if (current === content) continue;
  if (check) {
    stale.push(path);
    continue;
  }
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
  console.log(`wrote ${path}`);
}
if (stale.length > 0) {
  console.error(`generated files are out of date (run \`npm run generate\`):\n  ${stale.join("\n  ")}`);
  process.exit(1);
}
