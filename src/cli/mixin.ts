/**
 * The `mixin` command: every dashboard, rule file, promtool test and Kubernetes manifest, generated from a user's
 * JSON config with the same generators that produce the shipped files.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { assertConfigInput, type MixinConfig, resolveConfig } from "../../mixin/config.js";

/** Reads and validates a mixin config file (every key optional); no path means the shipped defaults. */
export function loadMixinConfig(path?: string): MixinConfig {
  if (path === undefined) return resolveConfig();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    assertConfigInput(input);
    return resolveConfig(input);
  } catch (error) {
    throw error instanceof TypeError ? new TypeError(`${path}: ${error.message}`) : error;
  }
}

/** Paths (relative to the output directory) whose content differs from what is on disk. */
export function staleFiles(files: Record<string, string>, outDir: string): string[] {
  return Object.entries(files)
    .filter(([path, content]) => {
      const target = resolve(outDir, path);
      return !existsSync(target) || readFileSync(target, "utf8") !== content;
    })
    .map(([path]) => path);
}

/** Writes the files that differ from what is on disk under `outDir`; returns their paths relative to it. */
export function writeFiles(files: Record<string, string>, outDir: string): string[] {
  const changed = staleFiles(files, outDir);
  for (const path of changed) {
    const target = resolve(outDir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, files[path] as string);
  }
  return changed;
}
