#!/usr/bin/env node
/** The `langgraph-ops` command line. Exit codes: 0 done, 1 a bad config or stale files, 2 a usage error. */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { generatedFiles } from "../../mixin/index.js";
import { loadMixinConfig, staleFiles, writeFiles } from "./mixin.js";

const USAGE = `Usage: langgraph-ops mixin [--config <file.json>] --out <dir> [--check]
       langgraph-ops mixin [--config <file.json>] --print-config

Generates the Grafana dashboards, the Prometheus recording and alert rules, their runbook, the promtool tests,
the PrometheusRule and the dashboard ConfigMaps from a mixin config (a JSON file; every key optional, the
shipped defaults fill the rest). Files go to <dir>/alerts/ and <dir>/dashboards/, laid out like the package.

Options:
  --config <file>   mixin config, e.g. { "selector": "job=~\\"agents-.*\\"", "sloTarget": 0.999 }
  --out <dir>       directory to write into (created when missing; only changed files are written)
  --check           write nothing; exit 1 listing the files under <dir> that differ from the generated ones
  --print-config    print the resolved config (defaults merged with --config) as JSON, a starting point
  -h, --help        print this help
`;

class UsageError extends Error {}

function mixin(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      out: { type: "string" },
      check: { type: "boolean" },
      "print-config": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const config = loadMixinConfig(values.config);
  if (values["print-config"] === true) {
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return 0;
  }
  if (values.out === undefined) throw new UsageError("--out <dir> is required");
  const outDir = resolve(values.out);
  const files = generatedFiles(config);
  if (values.check === true) {
    const stale = staleFiles(files, outDir);
    if (stale.length === 0) return 0;
    process.stderr.write(`langgraph-ops mixin: files under ${outDir} differ from the generated ones:\n  ${stale.join("\n  ")}\n`);
    return 1;
  }
  const written = writeFiles(files, outDir);
  const total = Object.keys(files).length;
  process.stdout.write(`langgraph-ops mixin: ${written.length} of ${total} files written to ${outDir}\n`);
  return 0;
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== "mixin") throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  return mixin(rest);
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") === true;
  process.stderr.write(`langgraph-ops: ${(error as Error).message}\n${usage ? `\n${USAGE}` : ""}`);
  process.exitCode = usage ? 2 : 1;
}
