import { execFile } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consumerProject, packedTarball } from "./support/packed.js";

const root = resolve(import.meta.dirname, "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const fixtures = join(root, "test", "fixtures", "types");
let consumer: string;

beforeAll(async () => {
  consumer = consumerProject(await packedTarball());
  cpSync(fixtures, consumer, { recursive: true });
}, 300_000);

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

/** tsc's exit code and diagnostics for one of the fixture configs, compiled against the installed package. */
async function compile(config: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [tsc, "-p", config, "--pretty", "false"], { cwd: consumer });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

describe("types as a consumer resolves them", () => {
  it.each([
    ["tsconfig.nodenext.json", "module nodenext (ESM and a .cts file)"],
    ["tsconfig.bundler.json", "moduleResolution bundler"],
    ["tsconfig.node10.json", "module commonjs, moduleResolution node10"],
  ])(
    "%s (%s): inline nodes infer state and config, wrong states are rejected, every subpath resolves",
    async (config) => {
      const { code, output } = await compile(config);
      expect(output).toBe("");
      expect(code).toBe(0);
    },
    120_000,
  );

  it("fails when a fixture's expectation is broken (the check can fail)", async () => {
    // The same fixture with one line that must not compile: a graph node reading a state key that does not exist.
    const broken = join(consumer, "broken.ts");
    cpSync(join(consumer, "inline-nodes.ts"), broken);
    writeFileSync(
      broken,
      readFileSync(broken, "utf8").replace("const count: number = state.count;", "const count: number = state.missing;"),
    );
    writeFileSync(join(consumer, "tsconfig.broken.json"), JSON.stringify({ extends: "./tsconfig.bundler.json", files: ["broken.ts"] }));
    const { code, output } = await compile("tsconfig.broken.json");
    expect(code).not.toBe(0);
    expect(output).toMatch(/broken\.ts\(\d+,\d+\): error TS2339: Property 'missing' does not exist/);
  }, 120_000);
});
