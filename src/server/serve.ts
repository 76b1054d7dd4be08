/**
 * `serveMetrics`: a small node:http server for Prometheus scrapes and Kubernetes probes. Loopback by default, so
 * exposing metrics beyond the host is an explicit choice (host "0.0.0.0" plus auth or a network policy).
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { liveCircuitBreakers } from "../resilience/circuit-breaker.js";
import { checkOptions, type OptionSpec, rule, stringArray } from "../core/options.js";
import { coreOf, type Metrics } from "../observability/metrics.js";
import { sendText, writeMetrics } from "./http.js";

/** A readiness check: resolve true when the app may receive traffic. A throw or rejection counts as not ready. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

/** Readiness made of a user check and built-in checks. */
export interface ReadinessOptions {
  /** The application's own check (database reachable, warm-up done...). */
  check?: ReadinessCheck;
  /** Not ready while a circuit breaker is open: `true` for every breaker, or the names of the breakers that matter. */
  noOpenBreakers?: boolean | readonly string[];
}

/** Credentials the scrape must present on the metrics path. */
export type MetricsAuth = { bearer: string } | { basic: { username: string; password: string } };

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** TCP port; 0 picks a free one. Default 9464 (the OpenTelemetry Prometheus exporter's port). */
  port?: number;
  /** Interface to bind. Default "127.0.0.1". */
  host?: string;
  /** Path of the exposition. Default "/metrics". */
  path?: string;
  /** Require a bearer token or basic credentials on the metrics path (probes stay open). */
  auth?: MetricsAuth;
  /** What `/readyz` checks; without it `/readyz` answers like `/healthz`. */
  readiness?: ReadinessCheck | ReadinessOptions;
  /** Open connections allowed at once; further ones are closed on arrival. Default 64 (scrapers and probes are few). */
  maxConnections?: number;
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

/**
 * @internal The accepted keys of {@link ServeMetricsOptions}: validation and the bad-input sweep read it.
 * `readinessTimeoutMs` bounds the readiness check.
 */
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
  maxConnections: rule.integer(1, 1_000_000),
  requestTimeoutMs: rule.integer(100, 3_600_000),
  readinessTimeoutMs: rule.integer(1, 3_600_000),
} as const satisfies OptionSpec<keyof ServeMetricsOptions | "readinessTimeoutMs">;

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The header check for validated `auth` (see {@link METRICS_AUTH}). */
function resolveAuth(auth: MetricsAuth | undefined): ((header: string | undefined) => boolean) | undefined {
  if (auth === undefined) return undefined;
  const expected =
    "bearer" in auth ? `Bearer ${auth.bearer}` : `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString("base64")}`;
  return (header) => header !== undefined && safeEqual(header, expected);
}

/** The readiness check for validated `readiness` (see {@link READINESS_OPTIONS}). */
function resolveReadiness(readiness: ReadinessCheck | ReadinessOptions | undefined): () => Promise<string | undefined> {
  if (readiness === undefined) return async () => undefined;
  const { check, noOpenBreakers: watched } = typeof readiness === "function" ? { check: readiness, noOpenBreakers: undefined } : readiness;
  // Returns why the app is not ready, or undefined when it is.
  return async () => {
    if (watched !== undefined && watched !== false) {
      const open = liveCircuitBreakers()
        .filter((b) => b.state === "open" && (watched === true || watched.includes(b.name)))
        .map((b) => b.name);
      if (open.length > 0) return `circuit breaker open: ${open.join(", ")}`;
    }
    if (check !== undefined) {
      try {
        if ((await check()) !== true) return "readiness check failed";
      } catch {
        return "readiness check failed";
      }
    }
    return undefined;
  };
}

/**
 * Serves `metrics` on `path` (default `/metrics`), liveness on `/healthz` and readiness on `/readyz`, bound to
 * 127.0.0.1:9464 by default. Only GET and HEAD are answered (405 otherwise); other paths get 404.
 * @example
 * const server = await serveMetrics(metrics, { port: 9464, readiness: { noOpenBreakers: ["openai"] } });
 * // later: await server.close();
 */
export async function serveMetrics(metrics: Metrics, options: ServeMetricsOptions = {}): Promise<MetricsServer> {
  const where = "serveMetrics(metrics, options)";
  coreOf(metrics, "serveMetrics(metrics)");
  checkOptions(options, SERVE_METRICS_OPTIONS, where);
  const port = options.port ?? 9464;
  const host = options.host ?? "127.0.0.1";
  const path = options.path ?? "/metrics";
  const authorized = resolveAuth(options.auth);
  const auth = options.auth as unknown;
  const challenge = typeof auth === "object" && auth !== null && "basic" in auth ? 'Basic realm="metrics"' : "Bearer";
  const notReadyBecause = resolveReadiness(options.readiness);
  const maxConnections = options.maxConnections ?? 64;
  // A client that trickles its request in (slowloris) holds a connection; the cap and the timeout bound what it can hold.
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;

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
    if (authorized !== undefined && !authorized(req.headers.authorization)) {
      sendText(req, res, 401, "unauthorized\n", { "www-authenticate": challenge });
      return;
    }
    writeMetrics(metrics, req, res);
  };

  const server = createServer(
    {
      headersTimeout: requestTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // How often Node looks for requests past their timeout (its default, 30 s, would dwarf a short timeout).
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(requestTimeoutMs / 4))),
    },
    handle,
  );
  server.maxConnections = maxConnections;
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
