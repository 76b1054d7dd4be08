/**
 * `/readyz` of the metrics server: built-in checks plus the application's own, under a deadline. A check that never
 * settles must not leave probes unanswered (nor pile up one pending check per probe): checks run one at a time, and a
 * probe that arrives while one is running waits for that same check, for at most the deadline.
 */
import { liveCircuitBreakers } from "../resilience/circuit-breaker.js";
import { assertKnownKeys, assertObject, describe } from "../resilience/options.js";

/** A readiness check: resolve true when the app may receive traffic. A throw or rejection counts as not ready. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

/** Readiness made of a user check and built-in checks. */
export interface ReadinessOptions {
  /** The application's own check (database reachable, warm-up done...). */
  check?: ReadinessCheck;
  /** Not ready while a circuit breaker is open: `true` for every breaker, or the names of the breakers that matter. */
  noOpenBreakers?: boolean | readonly string[];
}

/** Default deadline of the readiness check: below the kubelet's probe timeout of a few seconds. */
export const DEFAULT_READINESS_TIMEOUT_MS = 2_000;

/**
 * @internal Validates `readiness` and returns a function resolving to why the app is not ready, or undefined when it
 * is. Never rejects; a check still running after `timeoutMs` makes the answer "timed out".
 */
export function resolveReadiness(readiness: unknown, where: string, timeoutMs: number): () => Promise<string | undefined> {
  if (readiness === undefined) return async () => undefined;
  const options: ReadinessOptions =
    typeof readiness === "function" ? { check: readiness as ReadinessCheck } : (readiness as ReadinessOptions);
  assertObject(options, where);
  assertKnownKeys(options as Record<string, unknown>, ["check", "noOpenBreakers"], where);
  const { noOpenBreakers } = options;
  const check = options.check as ReadinessCheck | undefined;
  if (check !== undefined && typeof check !== "function") throw new TypeError(`${where}.check must be a function, got ${describe(check)}`);
  const watched = noOpenBreakers;
  if (watched !== undefined && typeof watched !== "boolean" && !(Array.isArray(watched) && watched.every((n) => typeof n === "string"))) {
    throw new TypeError(`${where}.noOpenBreakers must be a boolean or an array of breaker names, got ${describe(watched)}`);
  }
  const timedOut = `readiness check timed out after ${timeoutMs} ms`;
  /** The check in progress, shared by the probes that arrive while it runs. */
  let running: Promise<boolean> | undefined;
  const runCheck = (userCheck: ReadinessCheck): Promise<boolean> => {
    if (running !== undefined) return running;
    const current = (async () => {
      try {
        return (await userCheck()) === true;
      } catch {
        return false;
      }
    })();
    running = current;
    // Cleared once settled (never rejects), so the next probe runs the check again.
    void current.then(() => {
      if (running === current) running = undefined;
    });
    return current;
  };
  return async () => {
    if (watched !== undefined && watched !== false) {
      const open = liveCircuitBreakers()
        .filter((b) => b.state === "open" && (watched === true || watched.includes(b.name)))
        .map((b) => b.name);
      if (open.length > 0) return `circuit breaker open: ${open.join(", ")}`;
    }
    if (check === undefined) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    const outcome = await Promise.race([runCheck(check), deadline]);
    clearTimeout(timer);
    if (outcome === "late") return timedOut;
    return outcome ? undefined : "readiness check failed";
  };
}
