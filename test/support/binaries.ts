import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

const INSTALL = "bash scripts/install-test-services.sh   (or: apt-get update && apt-get install -y prometheus redis-server postgresql)";

/** Absolute path of a server binary, or an Error telling how to install it. */
export function requireBinary(name: string, extraDirs: string[] = []): string {
  for (const dir of extraDirs) {
    const candidate = `${dir}/${name}`;
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(`"${name}" is not installed; the tests start it on loopback. Install it with: ${INSTALL}`);
  }
}

/** PostgreSQL's bin directories (Debian keeps them under /usr/lib/postgresql/<version>/bin). */
export function postgresBinDirs(): string[] {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort()
    .reverse()
    .map((v) => `${root}/${v}/bin`);
}
