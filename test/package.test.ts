import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
let consumer: string;

/** Packs the built package and unpacks it into a consumer project whose other dependencies link to ours. */
beforeAll(() => {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "pipe" });
  consumer = mkdtempSync(join(tmpdir(), "lgops-consumer-"));
  const tarball = execFileSync("npm", ["pack", "--silent", "--pack-destination", consumer], { cwd: root, encoding: "utf8" })
    .trim()
    .split("\n")
    .pop() as string;
  const modules = join(consumer, "node_modules");
  mkdirSync(join(modules, "langgraph-ops"), { recursive: true });
  execFileSync("tar", ["xzf", join(consumer, tarball), "-C", join(modules, "langgraph-ops"), "--strip-components=1"]);
  for (const entry of readdirSync(join(root, "node_modules"))) {
    if (entry === ".bin" || entry.startsWith(".")) continue;
    symlinkSync(join(root, "node_modules", entry), join(modules, entry));
  }
}, 120_000);

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: consumer, encoding: "utf8" }).trim();

describe("the packed package", () => {
  it("ships only dist, docs and generated assets", () => {
    const files = execFileSync("find", ["node_modules/langgraph-ops", "-type", "f"], { cwd: consumer, encoding: "utf8" });
    expect(files).toContain("dist/index.js");
    expect(files).toContain("dist/index.cjs");
    expect(files).toContain("dist/index.d.ts");
    expect(files).toContain("dist/index.d.cts");
    expect(files).not.toContain("/src/");
    expect(files).not.toContain("/test/");
  });

  it("can be imported from ESM", () => {
    const out = run([
      "--input-type=module",
      "-e",
      'import { resilient, withRetry, CHANNELS } from "langgraph-ops"; console.log(typeof resilient, typeof withRetry, CHANNELS.retry)',
    ]);
    expect(out).toBe("function function langgraph-ops:retry");
  });

  it("can be required from CommonJS (p-retry is bundled into the CJS build)", () => {
    const out = run([
      "-e",
      'const m = require("langgraph-ops"); console.log(typeof m.resilient, typeof m.createCircuitBreaker, m.TimeoutError.name)',
    ]);
    expect(out).toBe("function function TimeoutError");
  });

  it("wraps and runs a node from both module systems", () => {
    const code = `const n = m.resilient(async () => ({ ok: 1 }), { timeout: 1000, retry: {} }); n({}, {}).then((u) => console.log(JSON.stringify(u)));`;
    expect(run(["-e", `const m = require("langgraph-ops"); ${code}`])).toBe('{"ok":1}');
    expect(run(["--input-type=module", "-e", `import * as m from "langgraph-ops"; ${code}`])).toBe('{"ok":1}');
  });
});
