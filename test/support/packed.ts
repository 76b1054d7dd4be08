/**
 * The package as npm publishes it. `npm run build` and `npm pack` run once per change of the package's inputs and
 * the tarball is shared by the test files that install it (a lock keeps two test files from building at once).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const INPUTS = [
  "src",
  "alerts",
  "dashboards",
  "package.json",
  "package-lock.json",
  "tsup.config.ts",
  "tsconfig.json",
  "README.md",
  "CHANGELOG.md",
  "scripts",
];
const PACKED = join(root, ".tmp", "packed");
const LOCK = join(root, ".tmp", "packed.lock");
const STALE_LOCK_MS = 10 * 60_000;

function fingerprint(): string {
  const hash = createHash("sha256");
  const visit = (path: string): void => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry));
    } else {
      hash.update(`${path}\0${stat.size}\0${stat.mtimeMs}\n`);
    }
  };
  for (const input of INPUTS) visit(join(root, input));
  return hash.digest("hex").slice(0, 16);
}

async function withLock<T>(fn: () => T): Promise<T> {
  mkdirSync(join(root, ".tmp"), { recursive: true });
  const deadline = Date.now() + 2 * STALE_LOCK_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      // A lock left by a killed run would block every later one.
      const since = statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - since > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}`);
      await new Promise((done) => setTimeout(done, 250));
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Path of the packed package for the current sources, building and packing it when they changed. */
export function packedTarball(): Promise<string> {
  return withLock(() => {
    const tarball = join(PACKED, `langgraph-ops-${fingerprint()}.tgz`);
    if (existsSync(tarball)) return tarball;
    rmSync(PACKED, { recursive: true, force: true });
    mkdirSync(PACKED, { recursive: true });
    execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "pipe" });
    const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", PACKED], { cwd: root, encoding: "utf8" })
      .trim()
      .split("\n")
      .pop() as string;
    renameSync(join(PACKED, packed), tarball);
    return tarball;
  });
}

/** A consumer project holding the unpacked package, its other dependencies linked to ours except `leaveOut`. */
export function consumerProject(tarball: string, leaveOut: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), "lgops-consumer-"));
  const modules = join(dir, "node_modules");
  mkdirSync(join(modules, "langgraph-ops"), { recursive: true });
  execFileSync("tar", ["xzf", tarball, "-C", join(modules, "langgraph-ops"), "--strip-components=1"]);
  for (const entry of readdirSync(join(root, "node_modules"))) {
    if (entry === ".bin" || entry.startsWith(".") || entry === "langgraph-ops" || leaveOut.includes(entry)) continue;
    symlinkSync(join(root, "node_modules", entry), join(modules, entry));
  }
  return dir;
}
