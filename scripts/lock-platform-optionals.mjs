#!/usr/bin/env node
// Adds lockfile entries for the platform-specific optional packages of biome and rollup (darwin, win32, musl...)
// when `npm install` could not resolve them, so that `npm ci` accepts the lockfile on every platform. Each entry
// carries its os/cpu/libc, so npm skips it on other platforms without fetching it.
// Run after `npm install` whenever package-lock.json is regenerated: node scripts/lock-platform-optionals.mjs
import { readFileSync, writeFileSync } from "node:fs";

const OS = ["android", "darwin", "freebsd", "linux", "openbsd", "openharmony", "win32"];
const CPU = {
  arm64: "arm64",
  x64: "x64",
  arm: "arm",
  ia32: "ia32",
  loong64: "loong64",
  ppc64: "ppc64",
  riscv64: "riscv64",
  s390x: "s390x",
};
const PARENTS = ["node_modules/@biomejs/biome", "node_modules/rollup"];

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
let added = 0;
for (const parentPath of PARENTS) {
  const parent = lock.packages[parentPath];
  if (parent === undefined) continue;
  for (const [name, version] of Object.entries(parent.optionalDependencies ?? {})) {
    const path = `node_modules/${name}`;
    if (lock.packages[path] !== undefined) continue;
    const parts = name.split("/")[1].split("-");
    const os = parts.find((p) => OS.includes(p));
    const cpu = parts.map((p) => CPU[p]).find(Boolean);
    if (os === undefined || cpu === undefined) throw new Error(`cannot tell the platform of ${name}`);
    const entry = { version, dev: parent.dev === true ? true : undefined, optional: true, os: [os], cpu: [cpu] };
    if (parts.includes("musl") || parts.includes("musleabihf")) entry.libc = ["musl"];
    else if (os === "linux" && (parts.includes("gnu") || parts.includes("gnueabihf"))) entry.libc = ["glibc"];
    lock.packages[path] = JSON.parse(JSON.stringify(entry));
    added += 1;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))));
writeFileSync("package-lock.json", `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-platform-optionals: added ${added} entries`);
