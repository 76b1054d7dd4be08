/**
 * Replica processes of test/fixtures/fleet-replica.ts for the fleet suites: start them with an environment, send
 * commands, await the answer with the same id.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const REPLICA = fileURLToPath(new URL("../fixtures/fleet-replica.ts", import.meta.url));

/** A running replica. */
export interface FleetReplica {
  readonly name: string;
  /** Sends a command and resolves with its answer line. */
  send<T = Record<string, unknown>>(command: Record<string, unknown>): Promise<T>;
  /** SIGKILL, and waits for the exit. */
  kill(): Promise<void>;
  /** Closes stdin (the replica shuts its breaker and stores down) and waits for the exit. */
  stop(): Promise<void>;
}

let ids = 0;

/** Starts a replica and waits until it is ready (in shared mode: it has read the fleet state). */
export async function startFleetReplica(name: string, env: Record<string, string>): Promise<FleetReplica> {
  const child = spawn(process.execPath, ["--import", "tsx", REPLICA], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const pending = new Map<string, (line: Record<string, unknown>) => void>();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      if (!line.startsWith("{")) continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      pending.get(String(parsed.id))?.(parsed);
      pending.delete(String(parsed.id));
    }
  });
  const await_ = <T>(id: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      pending.set(id, (line) => resolve(line as T));
      void exited.then(() => reject(new Error(`replica ${name} exited: ${stderr}`)));
    });
  await await_("ready");
  return {
    name,
    send: <T>(command: Record<string, unknown>) => {
      const id = `${name}-${(ids += 1)}`;
      const answer = await_<T>(id);
      child.stdin?.write(`${JSON.stringify({ ...command, id })}\n`);
      return answer;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      child.stdin?.end();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
