/**
 * The HTTP side of `startTelemetry`'s export deadline. The OTLP exporter's own timeout is a socket idle timeout, which
 * a collector that trickles its answer (a byte every few seconds) never trips; its requests then live on, hold a
 * socket and keep the process alive after shutdown. The exporters built here use an agent that gives every request
 * an absolute deadline and, once telemetry shuts down, destroys the requests in flight and refuses new ones.
 */
import type { Agent, ClientRequest } from "node:http";
import { diag } from "@opentelemetry/api";
import { assertObject, numberOption } from "../resilience/options.js";

/** Default deadline of one export of `startTelemetry` (the OTLP exporter's default timeout). */
export const DEFAULT_EXPORT_TIMEOUT_MS = 10_000;
/** Default bound of `Telemetry.shutdown()`: past it, exports still in flight are cancelled and counted as failed. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;

/** Node's agent hook for every request it is given (public in practice, absent from the type definitions). */
type RequestHook = (req: ClientRequest, options: unknown) => void;

/** Agents and the cancellation shared by the exporters of one `startTelemetry`. */
export interface ExportTransport {
  /** The `httpAgentOptions` factory to give an OTLP/HTTP exporter. */
  readonly agentFactory: (protocol: string) => Promise<Agent>;
  /** Aborted by {@link ExportTransport.close}; pass it to `reportExports` so pending exports fail at once. */
  readonly signal: AbortSignal;
  /** Requests in flight right now (tests and diagnostics). */
  inFlight(): number;
  /** Destroys every request in flight, refuses later ones and frees the agents' sockets. Idempotent. */
  close(): void;
}

/** @internal Resolves `startTelemetry`'s two deadlines, in the kit's option message format. */
export function exportDeadlines(options: { exportTimeoutMs?: unknown; shutdownTimeoutMs?: unknown }): {
  exportTimeoutMs: number;
  shutdownTimeoutMs: number;
} {
  assertObject(options, "startTelemetry(options)");
  const range = { min: 1, max: 2_147_483_647, integer: true };
  return {
    exportTimeoutMs: numberOption(options.exportTimeoutMs, "startTelemetry(options).exportTimeoutMs", DEFAULT_EXPORT_TIMEOUT_MS, range),
    shutdownTimeoutMs: numberOption(
      options.shutdownTimeoutMs,
      "startTelemetry(options).shutdownTimeoutMs",
      DEFAULT_SHUTDOWN_TIMEOUT_MS,
      range,
    ),
  };
}

/** Creates the agents' factory: each request is destroyed `timeoutMs` after it starts, at the latest. */
export function exportTransport(timeoutMs: number): ExportTransport {
  const controller = new AbortController();
  const requests = new Set<ClientRequest>();
  const agents: Agent[] = [];
  const deadlineError = () => new Error(`trace export request passed its ${timeoutMs} ms deadline`);
  const closedError = () => new Error("trace export cancelled: telemetry is shut down");

  const guard = (agent: Agent): Agent => {
    const hooked = agent as Agent & { addRequest: RequestHook };
    const addRequest: RequestHook = hooked.addRequest.bind(agent);
    hooked.addRequest = (req, options) => {
      addRequest(req, options);
      if (controller.signal.aborted) {
        req.destroy(closedError());
        return;
      }
      requests.add(req);
      // The request itself keeps the process alive while it lasts; its deadline need not.
      const timer = setTimeout(() => req.destroy(deadlineError()), timeoutMs);
      timer.unref();
      req.once("close", () => {
        clearTimeout(timer);
        requests.delete(req);
      });
    };
    agents.push(agent);
    return agent;
  };

  return {
    signal: controller.signal,
    // Loaded lazily, as OpenTelemetry asks, so an HTTP instrumentation can patch the modules first.
    agentFactory: async (protocol) => {
      const { Agent } = protocol === "http:" ? await import("node:http") : await import("node:https");
      return guard(new Agent({ keepAlive: true }));
    },
    inFlight: () => requests.size,
    close() {
      if (controller.signal.aborted) return;
      controller.abort();
      for (const req of requests) req.destroy(closedError());
      requests.clear();
      for (const agent of agents) agent.destroy();
    },
  };
}

/**
 * @internal Runs `stop` (the SDK's shutdown: flush, then exporters' shutdown) for at most `timeoutMs`; then cancels
 * what is left through `transport` and gives the SDK a moment to count the cancelled batches. Never rejects.
 */
export async function boundedShutdown(stop: () => Promise<void>, transport: ExportTransport, timeoutMs: number): Promise<void> {
  const stopping = stop().catch((error: unknown) => {
    diag.warn("langgraph-ops: telemetry shutdown failed", error);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), timeoutMs);
  });
  const outcome = await Promise.race([stopping, bound]);
  clearTimeout(timer);
  transport.close();
  if (outcome === "late") {
    // The cancelled exports fail at once, so the SDK's shutdown ends within a few ticks; never wait long for it.
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([stopping, new Promise<void>((resolve) => (grace = setTimeout(resolve, CANCEL_GRACE_MS)))]);
    clearTimeout(grace);
  }
}

/** How long a shutdown past its bound waits for the SDK to record its cancelled exports. */
const CANCEL_GRACE_MS = 100;
