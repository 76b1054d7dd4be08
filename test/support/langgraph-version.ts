/**
 * Facts about the installed LangGraph.js that tests assert differently across the peer range (the oldest-versions
 * CI leg runs the same tests on `@langchain/langgraph` 1.5.0).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

function installedVersion(name: string): string {
  for (let dir = dirname(createRequire(import.meta.url).resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (manifest.name === name && manifest.version !== undefined) return manifest.version;
    } catch {
      // Not the package root yet.
    }
  }
  throw new Error(`${name}: no package.json above its entry`);
}

/** The installed `@langchain/langgraph` version. */
export const LANGGRAPH_VERSION = installedVersion("@langchain/langgraph");

const [major = 0, minor = 0, patch = 0] = LANGGRAPH_VERSION.split(".").map((n) => Number.parseInt(n, 10));

/**
 * Whether a caller that stops reading a stream (`break` in `for await`, `reader.cancel()`) stops the run: LangGraph
 * aborts the run's signal from 1.7.3 on; before, the graph keeps running to its end.
 */
export const STREAM_CANCEL_STOPS_RUN = major > 1 || (major === 1 && (minor > 7 || (minor === 7 && patch >= 3)));
