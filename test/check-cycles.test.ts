import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { importGraph, moduleCycles, twoWayFolders } from "../scripts/check-cycles.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dirs: string[] = [];

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "cycles-"));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("check-cycles", () => {
  it("src/ has no import cycle and no two-way folder imports", () => {
    const graph = importGraph(join(root, "src"));
    expect(graph.size).toBeGreaterThan(50);
    expect(moduleCycles(graph)).toEqual([]);
    expect(twoWayFolders(graph)).toEqual([]);
  });

  it("reports a run-time cycle, multi-line imports included, and not a type-only one", () => {
    const dir = tree({
      "a/x.ts": 'import {\n  y,\n} from "./y.js";\nexport const x = y;\n',
      "a/y.ts": 'import { x } from "./x.js";\nexport const y = 1;\nexport const z = () => x;\n',
      "a/p.ts": 'import type { Q } from "./q.js";\nexport type P = Q;\n',
      "a/q.ts": 'import type { P } from "./p.js";\nexport type Q = P | 1;\n',
    });
    expect(moduleCycles(importGraph(dir))).toEqual([["a/x.ts", "a/y.ts"]]);
  });

  it("reports folders that import each other, type-only imports included, and any import out of core", () => {
    const dir = tree({
      "one/a.ts": 'import { b } from "../two/b.js";\nexport const a = b;\n',
      "two/b.ts": 'import type { C } from "../one/c.js";\nexport const b: C = 1;\n',
      "one/c.ts": "export type C = number;\n",
      "core/d.ts": 'export { a } from "../one/a.js";\n',
    });
    const found = twoWayFolders(importGraph(dir));
    expect(found).toHaveLength(2);
    expect(found[0]).toBe("core imports one: core/d.ts -> one/a.ts");
    expect(found[1]).toMatch(/^one <-> two: one\/a\.ts -> two\/b\.ts; two\/b\.ts -> one\/c\.ts$/);
  });
});
