import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "./binaries.js";
import { freePort, waitFor } from "./ports.js";

/** A throwaway redis-server on loopback, working dir and unix socket in a temp dir. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void;
  /** Lets a paused server run again (SIGCONT); harmless when it is not paused. */
  resume(): void;
  /** Kills the server (SIGKILL) and waits for it to exit: every connection drops, all data is gone. */
  kill(): Promise<void>;
  /** Starts a killed server again on the same port, empty, and waits until it answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.setTimeout(1000);
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString().startsWith("+PONG"));
    });
  });
}

function spawnRedis(bin: string, port: number, dir: string): { child: ChildProcess; log: () => string } {
  const child: ChildProcess = spawn(
    bin,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--unixsocket",
      join(dir, "redis.sock"),
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return { child, log: () => log };
}

/** Starts redis-server (no persistence) on a free 127.0.0.1 port. */
export async function startRedis(): Promise<RedisServer> {
  const bin = requireBinary("redis-server");
  const dir = mkdtempSync(join(tmpdir(), "lgops-redis-"));
  const port = await freePort();
  let server = spawnRedis(bin, port, dir);
  const alive = (): boolean => server.child.exitCode === null && server.child.signalCode === null;
  const pause = (): void => {
    if (alive()) server.child.kill("SIGSTOP");
  };
  const resume = (): void => {
    if (alive()) server.child.kill("SIGCONT");
  };
  const kill = async (): Promise<void> => {
    if (!alive()) return;
    const exited = new Promise((r) => server.child.once("exit", r));
    server.child.kill("SIGKILL");
    await exited;
  };
  const ready = (): Promise<void> =>
    waitFor(
      async () => {
        if (server.child.exitCode !== null) throw new Error(`redis-server exited: ${server.log()}`);
        return ping(port);
      },
      20_000,
      `redis-server on port ${port}\n${server.log()}`,
    );
  const restart = async (): Promise<void> => {
    await kill();
    server = spawnRedis(bin, port, dir);
    await ready();
  };
  const stop = async (): Promise<void> => {
    // A stopped process would hold SIGTERM until continued.
    resume();
    if (alive()) {
      const exited = new Promise((r) => server.child.once("exit", r));
      server.child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (alive()) server.child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ready();
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, port, pause, resume, kill, restart, stop };
}
