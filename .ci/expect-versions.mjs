#!/usr/bin/env node
// Fails loudly unless each installed package (read from ./node_modules) has the version the leg means to test:
//   node expect-versions.mjs @opentelemetry/sdk-node@0.301 @langchain/core@1.0.0
// A version prefix matches on whole dot-separated parts (1.0 matches 1.0.7, not 1.01).
import { readFileSync } from "node:fs";
import { join } from "node:path";

let failed = false;
for (const spec of process.argv.slice(2)) {
  const at = spec.lastIndexOf("@");
  const [name, want] = [spec.slice(0, at), spec.slice(at + 1)];
  let have;
  try {
    have = JSON.parse(readFileSync(join("node_modules", name, "package.json"), "utf8")).version;
  } catch {
    have = "not installed";
  }
  const ok = have === want || have.startsWith(`${want}.`);
  console.log(`${ok ? "ok" : "!! MISMATCH"}  ${name} ${have} (want ${want})`);
  failed ||= !ok;
}
if (failed) {
  console.error("!! the leg would not test the versions it names; fix its install step");
  process.exit(1);
}
