/**
 * `serveMetrics`: a small node:http server for Prometheus scrapes and Kubernetes probes. Loopback by default, so
 * exposing metrics beyond the host is an explicit choice (host "0.0.0.0" plus auth or a network policy).
 *
 * Probes stay answerable under slow-client load: a client gets `headersTimeoutMs` (2 s) to send its request headers,
 * and past `maxConnections` the longest-idle connection is closed to make room (see connections.ts), so slow or
 * stuck clients can neither lock `/healthz` out nor hold its place for long.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { assertKnownKeys, assertObject, describe, numberOption } from "../resilience/options.js";
import { coreOf, type Metrics } from "../observability/metrics.js";
import { type MetricsAuth, resolveAuth } from "./auth.js";
import { budgetConnections } from "./connections.js";
import { type Exposition, sendText, writeMetrics } from "./http.js";
import { DEFAULT_READINESS_TIMEOUT_MS, type ReadinessCheck, type ReadinessOptions, resolveReadiness } from "./readiness.js";

export type { MetricsAuth } from "./auth.js";
export { DEFAULT_READINESS_TIMEOUT_MS, type ReadinessCheck, type ReadinessOptions } from "./readiness.js";

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** TCP port; 0 picks a free one. Default 9464 (the OpenTelemetry Prometheus exporter's port). */
  port?: number;
  /** Interface to bind. Default "127.0.0.1". */
  host?: string;
  /** Path of the exposition. Default "/metrics". */
  path?: string;
  /** Require a bearer token or basic credentials on the metrics path (probes stay open). Schemes match in any case. */
  auth?: MetricsAuth;
  /** What `/readyz` checks; without it `/readyz` answers like `/healthz`. */
  readiness?: ReadinessCheck | ReadinessOptions;
  /** Deadline of the readiness check: `/readyz` answers 503 once it passes. Default 2_000 ms. */
  readinessTimeoutMs?: number;
  /**
   * Open connections allowed at once. Past it the connection idle longest (still sending its request, or kept alive
   * between requests) is closed to make room, so a probe always gets in; a newcomer is refused only while every
   * connection has a request in flight. Default 64 (scrapers and probes are few).
   */
  maxConnections?: number;
  /**
   * Time a client has to send its request headers before it is disconnected (408), counted from the connection's
   * start, so a connection that sends nothing is closed too. Default 2_000 ms.
   */
  headersTimeoutMs?: number;
  /** Time a client has to send a whole request before it gets a 408 and is disconnected. Default 10_000 ms. */
  requestTimeoutMs?: number;
}

/** A running metrics server. */
export interface MetricsServer {
  /** Full URL of the metrics path, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** Stops accepting connections, closes open ones and frees the port. */
  close(): Promise<void>;
}

/** @internal The option names of {@link ServeMetricsOptions}, for servers built on the same options. */
export const SERVE_OPTION_KEYS = [
  "port",
  "host",
  "path",
  "auth",
  "readiness",
  "readinessTimeoutMs",
  "maxConnections",
  "headersTimeoutMs",
  "requestTimeoutMs",
] as const;

/** Default time a client has to send its request headers: well below a probe's period (10 s by default). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 2_000;

/**
 * Serves `metrics` on `path` (default `/metrics`), liveness on `/healthz` and readiness on `/readyz`, bound to
 * 127.0.0.1:9464 by default. Only GET and HEAD are answered (405 otherwise); other paths get 404. The exposition is
 * gzip-compressed when the scrape accepts it (Prometheus always does).
 * @example
 * const server = await serveMetrics(metrics, { port: 9464, readiness: { noOpenBreakers: ["openai"] } });
 * // later: await server.close();
 */
export async function serveMetrics(metrics: Metrics, options: ServeMetricsOptions = {}): Promise<MetricsServer> {
  coreOf(metrics, "serveMetrics(metrics)");
  return serveExposition(metrics, options, "serveMetrics(metrics, options)", SERVE_OPTION_KEYS);
}

/** @internal The server behind {@link serveMetrics}, for any exposition (a `Metrics`, a cluster's aggregate). */
export async function serveExposition(
  exposition: Exposition,
  options: ServeMetricsOptions,
  where: string,
  knownKeys: readonly string[],
): Promise<MetricsServer> {
  assertObject(options, where);
  assertKnownKeys(options as Record<string, unknown>, knownKeys, where);
  const port = numberOption(options.port, `${where}.port`, 9464, { min: 0, max: 65_535, integer: true });
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "") throw new TypeError(`${where}.host must be a non-empty string, got ${describe(host)}`);
  const path = options.path ?? "/metrics";
  if (typeof path !== "string" || !path.startsWith("/") || path.includes("?")) {
    throw new TypeError(`${where}.path must start with "/" and have no query, got ${describe(path)}`);
  }
  const auth = resolveAuth(options.auth, `${where}.auth`);
  const readinessTimeoutMs = numberOption(options.readinessTimeoutMs, `${where}.readinessTimeoutMs`, DEFAULT_READINESS_TIMEOUT_MS, {
    min: 1,
    max: 2_147_483_647,
    integer: true,
  });
  const notReadyBecause = resolveReadiness(options.readiness, `${where}.readiness`, readinessTimeoutMs);
  const maxConnections = numberOption(options.maxConnections, `${where}.maxConnections`, 64, { min: 1, max: 1_000_000, integer: true });
  const timeouts = { min: 100, max: 3_600_000, integer: true };
  const requestTimeoutMs = numberOption(options.requestTimeoutMs, `${where}.requestTimeoutMs`, 10_000, timeouts);
  const headersTimeoutMs = Math.min(
    requestTimeoutMs,
    numberOption(options.headersTimeoutMs, `${where}.headersTimeoutMs`, DEFAULT_HEADERS_TIMEOUT_MS, timeouts),
  );

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const route = q === -1 ? url : url.slice(0, q);
    if (route !== path && route !== "/healthz" && route !== "/readyz") {
      sendText(req, res, 404, "not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(req, res, 405, "method not allowed\n", { allow: "GET, HEAD" });
      return;
    }
    if (route === "/healthz") {
      sendText(req, res, 200, "ok\n");
      return;
    }
    if (route === "/readyz") {
      notReadyBecause().then(
        (reason) => sendText(req, res, reason === undefined ? 200 : 503, reason === undefined ? "ready\n" : `not ready: ${reason}\n`),
        () => sendText(req, res, 503, "not ready\n"),
      );
      return;
    }
    if (auth !== undefined && !auth.authorized(req.headers.authorization)) {
      sendText(req, res, 401, "unauthorized\n", { "www-authenticate": auth.challenge });
      return;
    }
    writeMetrics(exposition, req, res);
  };

  const server = createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // How often Node looks for requests past their timeout (its default, 30 s, would dwarf a short timeout).
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(headersTimeoutMs / 4))),
    },
    handle,
  );
  budgetConnections(server, maxConnections);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${bound}${path}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
