/**
 * Runs an example's `main` when its file is executed directly (`npx tsx examples/<name>/main.ts`) and not when a test
 * imports it, and turns a failure into exit code 1 with the error printed.
 */
import { pathToFileURL } from "node:url";

/** True when `moduleUrl` (pass `import.meta.url`) is the script node was started with. */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(script).href === moduleUrl;
}

/** Calls `main` if `moduleUrl` is the entry point; a rejection prints the error and sets exit code 1. */
export function runIfEntryPoint(moduleUrl: string, main: () => Promise<unknown>): void {
  if (!isEntryPoint(moduleUrl)) return;
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
