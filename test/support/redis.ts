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

/** Starts redis-server (no persistence) on a free 127.0.0.1 port. */
export async function startRedis(): Promise<RedisServer> {
  const bin = requireBinary("redis-server");
  const dir = mkdtempSync(join(tmpdir(), "lgops-redis-"));
  const port = await freePort();
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
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const pause = (): void => {
    if (alive()) child.kill("SIGSTOP");
  };
  const resume = (): void => {
    if (alive()) child.kill("SIGCONT");
  };
  const stop = async (): Promise<void> => {
    // A stopped process would hold SIGTERM until continued.
    resume();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited: ${log}`);
        return ping(port);
      },
      20_000,
      `redis-server on port ${port}\n${log}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, port, pause, resume, stop };
}
