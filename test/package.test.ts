import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consumerProject, packedTarball } from "./support/packed.js";

let consumer: string;
let withoutLangfuse: string;
let withoutLangchain: string;

/** Unpacks the packed package into consumer projects. */
beforeAll(async () => {
  const tarball = await packedTarball();
  consumer = consumerProject(tarball);
  // The optional peer @langfuse/otel (and the rest of the @langfuse scope) not installed.
  withoutLangfuse = consumerProject(tarball, ["@langfuse"]);
  // The optional peer langchain (createAgent) not installed.
  withoutLangchain = consumerProject(tarball, ["langchain"]);
}, 300_000);

afterAll(() => {
  for (const dir of [consumer, withoutLangfuse, withoutLangchain]) if (dir) rmSync(dir, { recursive: true, force: true });
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

  it("exports traces over OTLP from langgraph-ops/otel without the optional @langfuse/otel, and names it when Langfuse is asked for", () => {
    const inProject = (args: string[]) => execFileSync(process.execPath, args, { cwd: withoutLangfuse, encoding: "utf8" }).trim();
    const code = (m: string) =>
      `const t = ${m}.startTelemetry({ otlp: { url: "http://127.0.0.1:9/v1/traces" }, langfuse: false }); ` +
      `let message = "none"; try { ${m}.startTelemetry({ langfuse: {} }); } catch (e) { message = e.message; } ` +
      "t.shutdown().then(() => console.log(typeof t.forceFlush, message));";
    const expected =
      'function langgraph-ops/otel: exporting to Langfuse needs the optional peer "@langfuse/otel" (npm install @langfuse/otel)';
    expect(inProject(["-e", `const o = require("langgraph-ops/otel"); ${code("o")}`])).toBe(expected);
    expect(inProject(["--input-type=module", "-e", `import * as o from "langgraph-ops/otel"; ${code("o")}`])).toBe(expected);
  });

  it("serves resilienceMiddleware from langgraph-ops/langchain to both module systems", () => {
    const code = `console.log(typeof m.resilienceMiddleware, m.resilienceMiddleware({ onFailure: "message" }).name);`;
    expect(run(["-e", `const m = require("langgraph-ops/langchain"); ${code}`])).toBe("function langgraph-ops-resilience");
    expect(run(["--input-type=module", "-e", `import * as m from "langgraph-ops/langchain"; ${code}`])).toBe(
      "function langgraph-ops-resilience",
    );
  });

  it("loads resilientModel from the main entry without the optional langchain package", () => {
    const inProject = (args: string[]) => execFileSync(process.execPath, args, { cwd: withoutLangchain, encoding: "utf8" }).trim();
    const code = "console.log(typeof m.resilientModel);";
    expect(inProject(["-e", `const m = require("langgraph-ops"); ${code}`])).toBe("function");
    expect(inProject(["--input-type=module", "-e", `import * as m from "langgraph-ops"; ${code}`])).toBe("function");
  });

  it("wraps and runs a node from both module systems", () => {
    const code = `const n = m.resilient(async () => ({ ok: 1 }), { timeout: 1000, retry: {} }); n({}, {}).then((u) => console.log(JSON.stringify(u)));`;
    expect(run(["-e", `const m = require("langgraph-ops"); ${code}`])).toBe('{"ok":1}');
    expect(run(["--input-type=module", "-e", `import * as m from "langgraph-ops"; ${code}`])).toBe('{"ok":1}');
  });
});
