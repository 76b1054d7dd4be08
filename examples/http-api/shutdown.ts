/**
 * Graceful shutdown for the API process: on SIGTERM (what Kubernetes and Docker send) the pod reports not ready,
 * stops accepting connections, lets the runs in flight finish, flushes the traces they produced, then exits 0.
 */
import type { Server } from "node:http";
import type { Logger } from "pino";
import type { InFlightRuns } from "./in-flight.js";

/** What {@link gracefulShutdown} stops, in order. */
export interface ShutdownDeps {
  server: Server;
  inFlight: InFlightRuns;
  startDraining(): void;
  /** Flushes and stops telemetry (`startTelemetry().shutdown`). */
  flushTelemetry(): Promise<void>;
  logger: Logger;
  /** Longest wait for in-flight runs; keep it under the orchestrator's grace period. */
  graceMs: number;
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Drains and closes; resolves once the server is closed and telemetry flushed. Never rejects. */
export async function gracefulShutdown(deps: ShutdownDeps): Promise<void> {
  const { server, inFlight, logger } = deps;
  deps.startDraining();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Idle keep-alive sockets would otherwise hold close() open until their timeout.
  server.closeIdleConnections();
  logger.info({ in_flight: inFlight.count }, "draining");
  const drained = await Promise.race([inFlight.idle().then(() => true), wait(deps.graceMs).then(() => false)]);
  if (!drained) logger.warn({ in_flight: inFlight.count }, "grace period over; closing the remaining connections");
  server.closeIdleConnections();
  // A response finishing right now gets a moment to flush; whatever is still open after that is cut.
  await Promise.race([closed, wait(1000)]);
  server.closeAllConnections();
  await closed;
  try {
    await deps.flushTelemetry();
  } catch (error) {
    logger.warn({ err: error }, "telemetry flush failed");
  }
  logger.info("stopped");
}
