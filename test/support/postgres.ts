import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { postgresBinDirs, requireBinary } from "./binaries.js";
import { freePort, waitFor } from "./ports.js";

/** A throwaway PostgreSQL server on loopback, its data and unix socket in a temp dir. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust auth on loopback). */
  url: string;
  port: number;
  /** Connection string for another database on the same server. */
  urlFor(database: string): string;
  /** Creates a fresh database and returns its connection string. */
  createDatabase(name: string): Promise<string>;
  /** Freezes the postmaster and every backend (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void;
  /** Lets a paused server run again (SIGCONT to the same processes); harmless when it is not paused. */
  resume(): void;
  /** Stops the server (fast shutdown: clients are disconnected) and starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Stops the server (SIGKILL-free fast shutdown) and removes the temp dir. */
  stop(): Promise<void>;
}

const BIN_DIRS = ["/usr/local/bin", ...postgresBinDirs()];

function postgresBinary(name: string): string {
  try {
    return requireBinary(name, BIN_DIRS);
  } catch {
    throw new Error(
      `PostgreSQL's "${name}" is not installed; the tests start a throwaway server on loopback. ` +
        "Install it with: bash scripts/install-test-services.sh   (or: apt-get update && apt-get install -y postgresql)",
    );
  }
}

/** PostgreSQL refuses to run as root; when the tests run as root the server runs as the `postgres` (or `nobody`) user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    try {
      const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    } catch {
      // try the next one
    }
  }
  throw new Error("running as root and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as");
}

/** Direct children of `pid`, from /proc (the postmaster forks one backend per connection plus its workers). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the parenthesised command name: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return children;
}

/** Starts PostgreSQL (initdb + postgres) on a free 127.0.0.1 port. */
export async function startPostgres(options: { maxConnections?: number } = {}): Promise<PostgresServer> {
  const initdb = postgresBinary("initdb");
  const postgres = postgresBinary("postgres");
  const dir = mkdtempSync(join(tmpdir(), "lgops-pg-"));
  const data = join(dir, "data");
  const user = serverUser();
  if (user !== undefined) {
    chownSync(dir, user.uid, user.gid);
    chmodSync(dir, 0o700);
  }
  const asUser = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  execFileSync(initdb, ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"], {
    ...asUser,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const port = await freePort();
  const launch = (): ChildProcess =>
    spawn(
      postgres,
      [
        "-D",
        data,
        "-p",
        String(port),
        "-h",
        "127.0.0.1",
        "-k",
        dir,
        "-c",
        `max_connections=${options.maxConnections ?? 200}`,
        // A throwaway server: durability off keeps commits cheap on a shared CI box.
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
      ],
      { ...asUser, stdio: ["ignore", "ignore", "pipe"] },
    );
  let log = "";
  const keepLog = (c: ChildProcess): ChildProcess => {
    c.stderr?.on("data", (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-20_000);
    });
    return c;
  };
  let child = keepLog(launch());
  const urlFor = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const url = urlFor("postgres");
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  // Each connection has its own backend process: freezing only the postmaster would leave open sessions answering.
  const signalAll = (signal: NodeJS.Signals): void => {
    if (!alive() || child.pid === undefined) return;
    // The postmaster first, so it forks no backend after the list of its children was read.
    child.kill(signal);
    for (const pid of childrenOf(child.pid)) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  };
  const pause = (): void => signalAll("SIGSTOP");
  const resume = (): void => signalAll("SIGCONT");
  const halt = async (): Promise<void> => {
    // A stopped process would hold SIGINT until continued.
    resume();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      // SIGINT = fast shutdown: disconnects clients and exits without waiting for them.
      child.kill("SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  };
  const stop = async (): Promise<void> => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = () =>
    waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`postgres exited: ${log}`);
        const client = new pg.Client({ connectionString: url });
        try {
          await client.connect();
          await client.query("SELECT 1");
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      30_000,
      `postgres on port ${port}\n${log}`,
    );
  try {
    await ready();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    port,
    urlFor,
    pause,
    resume,
    async restart() {
      await halt();
      child = keepLog(launch());
      await ready();
    },
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      } finally {
        await client.end();
      }
      return urlFor(name);
    },
    stop,
  };
}
