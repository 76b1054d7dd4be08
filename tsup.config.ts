import { existsSync } from "node:fs";
import { defineConfig } from "tsup";

const entry = {
  index: "src/index.ts",
  otel: "src/integrations/otel.ts",
  postgres: "src/integrations/postgres.ts",
  redis: "src/integrations/redis.ts",
  langchain: "src/integrations/langchain.ts",
};
const present = Object.fromEntries(Object.entries(entry).filter(([, file]) => existsSync(file)));

export default defineConfig([
  { entry: present, format: ["esm"], dts: true, sourcemap: true, clean: true, target: "node22", splitting: true },
  // p-retry is ESM-only; the CommonJS build carries its own copy so `require("langgraph-ops")` works everywhere.
  // The `langgraph-ops` command (cli.cjs) carries the mixin generators (mixin/) and the YAML
  // writer, so the bin runs from the installed package alone.
  {
    entry: { ...present, cli: "src/cli/main.ts" },
    format: ["cjs"],
    dts: true,
    sourcemap: true,
    target: "node22",
    shims: true,
    noExternal: ["p-retry", "is-network-error", "yaml"],
    // import.meta.resolve is undefined in CommonJS on purpose: the trace SDK loader then takes the CommonJS entry.
    esbuildOptions(options) {
      options.logOverride = { ...options.logOverride, "empty-import-meta": "silent" };
    },
  },
]);
