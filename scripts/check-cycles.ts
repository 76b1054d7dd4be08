/**
 * Import-graph check of src/: module-level import cycles and folders that import each other (src/core imports no
 * other folder). Folder layering counts every import, type-only ones too (they tie the folders' designs together
 * all the same); module cycles count the imports that remain at run time (`import type` is erased, so it cannot
 * make a module see another half-initialised).
 *
 *   npm run check:cycles        exit 1 listing every cycle and two-way folder pair
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** One import of a module of src/. */
export interface ImportEdge {
  readonly to: string;
  /** `import type` / `export type`: gone at run time. */
  readonly typeOnly: boolean;
}

/** Module path (relative to src/, with extension) → the modules of src/ it imports. */
export type ImportGraph = Map<string, ImportEdge[]>;

const IMPORT =
  /(?:^|\n)\s*((?:import|export)\s+(?:type\s)?)[^;]*?\sfrom\s+["']([^"']+)["']|(?:^|\n)\s*import\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The import graph of the TypeScript files under `srcDir` (only edges between those files). */
export function importGraph(srcDir: string): ImportGraph {
  const files = sourceFiles(srcDir);
  const known = new Set(files.map((f) => relative(srcDir, f)));
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const from = relative(srcDir, file);
    const text = readFileSync(file, "utf8");
    const edges = new Map<string, boolean>();
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[2] ?? match[3] ?? match[4] ?? "";
      if (!spec.startsWith(".")) continue;
      const target = relative(srcDir, resolve(dirname(file), spec)).replace(/\.js$/, ".ts");
      const typeOnly = /\stype\s$/.test(match[1] ?? "");
      if (known.has(target)) edges.set(target, (edges.get(target) ?? true) && typeOnly);
    }
    graph.set(
      from,
      [...edges].sort(([a], [b]) => (a < b ? -1 : 1)).map(([to, typeOnly]) => ({ to, typeOnly })),
    );
  }
  return graph;
}

/** Modules tied by a run-time import cycle: each strongly connected component of more than one module (or a self-import). */
export function moduleCycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm: each component of more than one module holds at least one cycle.
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const { to: w } of (graph.get(v) ?? []).filter((e) => !e.typeOnly)) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, indices.get(w) as number));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).some((e) => e.to === v && !e.typeOnly)) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) visit(v);
  return components;
}

/** Top-level folder of a module (`resilience/retry.ts` → `resilience`; `index.ts` → `.`). */
function folderOf(module: string): string {
  const slash = module.indexOf("/");
  return slash === -1 ? "." : module.slice(0, slash);
}

/** Pairs of top-level folders that import each other, each with one import that proves each direction. */
export function twoWayFolders(graph: ImportGraph): string[] {
  const edges = new Map<string, string>();
  for (const [from, targets] of graph) {
    for (const { to } of targets) {
      const a = folderOf(from);
      const b = folderOf(to);
      if (a !== b && a !== "." && b !== "." && !edges.has(`${a}>${b}`)) edges.set(`${a}>${b}`, `${from} -> ${to}`);
    }
  }
  const found: string[] = [];
  for (const [key, proof] of edges) {
    const [a, b] = key.split(">") as [string, string];
    if (a < b && edges.has(`${b}>${a}`)) found.push(`${a} <-> ${b}: ${proof}; ${edges.get(`${b}>${a}`)}`);
  }
  // core is the bottom layer: any import out of it is a layering error even when nothing imports back.
  for (const [key, proof] of edges) if (key.startsWith("core>")) found.push(`core imports ${key.slice(5)}: ${proof}`);
  return found.sort();
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const src = resolve(dirname(fileURLToPath(import.meta.url)), "../src");
  const graph = importGraph(src);
  const cycles = moduleCycles(graph);
  const folders = twoWayFolders(graph);
  for (const cycle of cycles) console.error(`import cycle: ${cycle.join(" <-> ")}`);
  for (const pair of folders) console.error(`two-way folders: ${pair}`);
  console.log(`${graph.size} modules, ${cycles.length} import cycles, ${folders.length} two-way folder imports`);
  if (cycles.length > 0 || folders.length > 0) process.exit(1);
}
