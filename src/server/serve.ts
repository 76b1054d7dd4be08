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
import { checkOptions, type OptionSpec, rule, stringArray } from "../core/options.js";
import { coreOf, type Metrics } from "../observability/metrics.js";
import { type MetricsAuth, resolveAuth } from "./auth.js";
import { budgetConnections } from "./connections.js";
import { type Exposition, sendText, writeMetrics } from "../observability/exposition.js";
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

/** @internal The accepted keys of {@link ReadinessOptions}: validation and the bad-input sweep read it. */
export const READINESS_OPTIONS = {
  check: rule.function(),
  noOpenBreakers: rule.union(rule.boolean(), stringArray),
} as const satisfies OptionSpec<keyof ReadinessOptions>;

/** @internal The two shapes of {@link MetricsAuth}: one or the other, never both. */
export const METRICS_AUTH = rule.union(
  rule.options({ bearer: rule.required(rule.string({ nonEmpty: true })) }, { label: "{ bearer: string }" }),
  rule.options(
    {
      basic: rule.required(
        rule.options(
          { username: rule.required(rule.string()), password: rule.required(rule.string()) },
          { label: "{ username, password }" },
        ),
      ),
    },
    { label: "{ basic: { username, password } }" },
  ),
);

/** @internal The accepted keys of {@link ServeMetricsOptions}, for every server built on them: validation and the bad-input sweep read it. */
export const SERVE_METRICS_OPTIONS = {
  port: rule.integer(0, 65_535),
  host: rule.string({ nonEmpty: true }),
  path: rule.check('a path starting with "/" and without a query', (v) => typeof v === "string" && v.startsWith("/") && !v.includes("?"), [
    "metrics",
    "/m?x",
    "",
  ]),
  auth: METRICS_AUTH,
  readiness: rule.union(rule.function(), rule.options(READINESS_OPTIONS)),
  readinessTimeoutMs: rule.integer(1, 2_147_483_647),
  maxConnections: rule.integer(1, 1_000_000),
  headersTimeoutMs: rule.integer(100, 3_600_000),
  requestTimeoutMs: rule.integer(100, 3_600_000),
} as const satisfies OptionSpec<keyof ServeMetricsOptions>;

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
  return serveExposition(metrics, options, "serveMetrics(metrics, options)");
}

/** @internal The server behind {@link serveMetrics}, for any exposition (a `Metrics`, a cluster's aggregate). */
export async function serveExposition(exposition: Exposition, options: ServeMetricsOptions, where: string): Promise<MetricsServer> {
  checkOptions(options, SERVE_METRICS_OPTIONS, where);
  const port = options.port ?? 9464;
  const host = options.host ?? "127.0.0.1";
  const path = options.path ?? "/metrics";
  const auth = resolveAuth(options.auth, `${where}.auth`);
  const readinessTimeoutMs = options.readinessTimeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS;
  const notReadyBecause = resolveReadiness(options.readiness, `${where}.readiness`, readinessTimeoutMs);
  const maxConnections = options.maxConnections ?? 64;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const headersTimeoutMs = Math.min(requestTimeoutMs, options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS);

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
